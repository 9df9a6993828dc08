"""Calendar dates from the many shapes sources publish them in, read as their publisher means.

Two things about a date are the publisher's convention, not the value's, so a source states them
and every reader passes them on (`parse_date(value, order=..., tz=...)`):

- the order of an all-numeric date: `DMY` (most of the world), `MDY` (US sources: "7/3/2014"
  is 3 July) or `YMD`. Without one, day-first is assumed unless impossible (09/16/2019).
- the time zone an instant means: "2021-02-10T04:59:59Z" from regulations.gov is a deadline of
  23:59 on 9 February in US Eastern time. With `tz`, an instant (a time with an offset or "Z")
  becomes the calendar date in that zone; without it, the date is kept as written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from search_api.domain.textfold import fold_accents as _fold

__all__ = [
    "DATE_ORDERS",
    "MAX_YEAR",
    "MIN_YEAR",
    "DateOrder",
    "local_date",
    "parse_date",
    "parse_instant",
    "time_zone",
]

DateOrder = Literal["DMY", "MDY", "YMD"]
DATE_ORDERS: tuple[str, ...] = get_args(DateOrder)

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
# A time with an offset or "Z" after an ISO date: an instant, which a time zone may move.
_ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$",
    re.IGNORECASE,
)
# RFC 2822 (RSS pubDate, HTTP): "Tue, 10 Feb 2021 04:59:59 GMT" / "+0000".
_RFC2822 = re.compile(
    r"\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s+(?:[A-Z]{1,5}|[+-]\d{4})$"
)
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


def _numeric(first: int, second: int, year: int, order: DateOrder | None) -> dt.date | None:
    if order == "MDY":
        return _make(year, first, second)
    if order in ("DMY", "YMD"):  # YMD never writes the year last: read as the world does
        return _make(year, second, first)
    # No order stated: sources are overwhelmingly day-first; month-first only when day-first
    # is impossible (e.g. 09/16/2019).
    if first > 12 or second <= 12:
        return _make(year, second, first)
    return _make(year, first, second)


def _from_string(text: str, order: DateOrder | None, tz: dt.tzinfo | None) -> dt.date | None:
    text = text.strip()
    if not text or len(text) > 100:
        return None
    if tz is not None:
        instant = parse_instant(text)
        if instant is not None:
            return local_date(instant, tz)
    for pattern in (_ISO, _ISO_SLASH, _COMPACT):
        m = pattern.match(text)
        if m:
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _NUMERIC.match(text)
    if m:
        return _numeric(int(m.group(1)), int(m.group(3)), int(m.group(4)), order)
    return _from_words(text)


@cache
def time_zone(name: str) -> dt.tzinfo:
    """The IANA time zone `name` ("America/New_York", "UTC"); ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name: America/New_York)") from exc


def parse_instant(value: object) -> dt.datetime | None:
    """An aware datetime from an instant written with an offset ("2021-02-10T04:59:59Z",
    "...+01:00", RFC 2822 "Tue, 10 Feb 2021 04:59:59 GMT"); None for anything else, naive
    times included (they name no instant). Never raises."""
    try:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo is not None else None
        if not isinstance(value, str):
            return None
        text = value.strip()
        if _ISO_INSTANT.match(text):
            parsed = dt.datetime.fromisoformat(text.replace(" Z", "Z").replace(",", "."))
            return parsed if parsed.tzinfo is not None else None
        if _RFC2822.search(text):
            parsed = parsedate_to_datetime(text)
            return parsed if parsed.tzinfo is not None else None
        return None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def local_date(instant: dt.datetime, tz: dt.tzinfo | str) -> dt.date | None:
    """The calendar date `instant` falls on in time zone `tz` (a zone or its IANA name)."""
    zone = time_zone(tz) if isinstance(tz, str) else tz
    local = instant.astimezone(zone) if instant.tzinfo is not None else instant
    return _make(local.year, local.month, local.day)


def parse_date(
    value: object, *, order: DateOrder | None = None, tz: dt.tzinfo | str | None = None
) -> dt.date | None:
    """The calendar date of `value`, or None. Never raises.

    `order` says how the publisher writes all-numeric dates (`DMY`, `MDY`, `YMD`); a date
    impossible in that order ("13/25/2020" as MDY) is None rather than read another way.
    `tz` is the time zone the publisher's instants mean: an instant (with an offset or "Z")
    becomes its date in that zone. Without `tz`, datetimes with an offset keep the local date
    as written (no conversion). An unknown zone name raises nothing: the date is None.
    """
    try:
        zone = time_zone(tz) if isinstance(tz, str) else tz
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, dt.datetime):
            if zone is not None and value.tzinfo is not None:
                return local_date(value, zone)
            return _make(value.year, value.month, value.day)
        if isinstance(value, dt.date):
            return _make(value.year, value.month, value.day)
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str):
            return _from_string(value, order, zone)
        if isinstance(value, Mapping):
            # JSON-LD value objects ({"@value": ...}) as produced by RDFa.
            return parse_date(value.get("@value"), order=order, tz=zone)
        if isinstance(value, list | tuple):
            # microdata often repeats a property; the first usable one wins.
            for item in value:
                parsed = parse_date(item, order=order, tz=zone)
                if parsed is not None:
                    return parsed
        return None
    except Exception:  # a normaliser must never raise
        return None
