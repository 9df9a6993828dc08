"""Calendar dates from the many shapes event sources publish them in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from search_api.domain.textfold import fold_accents as _fold

__all__ = ["MAX_YEAR", "MIN_YEAR", "parse_date"]

MIN_YEAR = 1900
MAX_YEAR = 2100

# ISO-like prefix. Days/months may lack zero padding ("2019-9-13", seen on
# EventON sites), and whatever follows the date (time, offset, or the garbage
# "T10-10-00-00" those same sites emit) is ignored: the calendar date as
# written is what we want, never a UTC conversion.
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[T\s_]|[+-]\d|Z)", re.IGNORECASE)
_ISO_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?=$|[T\s])")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?=$|T\d)")
_NUMERIC = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?=$|[T\s,])")
_TIME = re.compile(
    r"\b\d{1,2}[:h]\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[ap]\.?\s?m\.?)?|\b\d{1,2}\s*[ap]\.?m\.?\b",
    re.IGNORECASE,
)

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        ("january", "jan", "janvier", "janv", "enero", "ene", "januar", "jän"),
        ("february", "feb", "fevrier", "fev", "fevr", "febrero", "februar"),
        ("march", "mar", "mars", "marzo", "marz", "maerz"),
        ("april", "apr", "avril", "avr", "abril", "abr"),
        ("may", "mai", "mayo"),
        ("june", "jun", "juin", "junio", "juni"),
        ("july", "jul", "juillet", "juil", "julio", "juli"),
        ("august", "aug", "aout", "agosto", "ago"),
        ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "set"),
        ("october", "oct", "octobre", "octubre", "oktober", "okt"),
        ("november", "nov", "novembre", "noviembre"),
        ("december", "dec", "decembre", "diciembre", "dic", "dezember", "dez"),
    ],
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _num


def _make(year: int, month: int, day: int) -> dt.date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _from_words(text: str) -> dt.date | None:
    """ "16 September 2019", "Sept 16, 2019", "Mon, 16 sept. 2019 18:00",
    "16 de septiembre de 2019", "1er mars 2027"."""
    folded = _TIME.sub(" ", _fold(text))
    tokens = re.findall(r"[a-z]+|\d+", folded)
    month_idx = [i for i, t in enumerate(tokens) if t in _MONTHS]
    years = [i for i, t in enumerate(tokens) if len(t) == 4 and t.isdigit()]
    if len(month_idx) != 1 or len(years) != 1:
        return None
    m_i, y_i = month_idx[0], years[0]
    day_i: int | None = None
    # The day sits right next to the month name ("16 September", "Sept 16");
    # ordinal suffixes and "de" are tokens of their own and are skipped.
    for cand in (m_i - 1, m_i + 1, m_i - 2, m_i + 2):
        if (
            0 <= cand < len(tokens)
            and cand != y_i
            and tokens[cand].isdigit()
            and len(tokens[cand]) <= 2
        ):
            day_i = cand
            break
    if day_i is None:
        return None
    # Any other number would make the reading ambiguous ("16 17 September").
    digits = [i for i, t in enumerate(tokens) if t.isdigit()]
    if len(digits) != 2:
        return None
    # Unknown words are fine (weekdays, "de", "st", "th", "er") as long as they
    # are short-ish glue; a long sentence with a date in it is not a date.
    words = [t for t in tokens if not t.isdigit() and t not in _MONTHS]
    if len(words) > 3:
        return None
    return _make(int(tokens[y_i]), _MONTHS[tokens[m_i]], int(tokens[day_i]))


def _from_string(text: str) -> dt.date | None:
    text = text.strip()
    if not text or len(text) > 100:
        return None
    for pattern in (_ISO, _ISO_SLASH, _COMPACT):
        m = pattern.match(text)
        if m:
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _NUMERIC.match(text)
    if m:
        first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        # Trade-fair sources are overwhelmingly day-first; only read it as
        # US month-first when day-first is impossible (e.g. 09/16/2019).
        if first > 12 or second <= 12:
            return _make(year, second, first)
        return _make(year, first, second)
    return _from_words(text)


def parse_date(value: object) -> dt.date | None:
    """The calendar date of `value`, or None. Never raises.

    Datetimes with an offset keep the local date as written (no UTC conversion).
    """
    try:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, dt.datetime):
            return _make(value.year, value.month, value.day)
        if isinstance(value, dt.date):
            return _make(value.year, value.month, value.day)
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str):
            return _from_string(value)
        if isinstance(value, Mapping):
            # JSON-LD value objects ({"@value": ...}) as produced by RDFa.
            return parse_date(value.get("@value"))
        if isinstance(value, list | tuple):
            # microdata often repeats a property; the first usable one wins.
            for item in value:
                parsed = parse_date(item)
                if parsed is not None:
                    return parsed
        return None
    except Exception:  # a normaliser must never raise
        return None
