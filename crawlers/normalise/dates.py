"""Calendar dates from the many shapes sources publish them in, read as their publisher means.

Two things about a date are the publisher's convention, not the value's, so a source states them
(`date_order`, `time_zone`) and every format reads its dates through one `DateReading`, built once
a crawl from the source (`DateReading.of(spec)`), whose `read(value)` gives the date and, for a
date written in another order than the source's, why it is none:

- the order of an all-numeric date: `DMY` (most of the world), `MDY` (US sources: "7/3/2014"
  is 3 July) or `YMD`. Without one, day-first is assumed unless impossible (09/16/2019).
- the time zone an instant means: "2021-02-10T04:59:59Z" from regulations.gov is a deadline of
  23:59 on 9 February in US Eastern time. With a zone, an instant (a time with an offset or
  "Z") becomes the calendar date in that zone; without one, the date is kept as written.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from search_api.domain.textfold import fold_accents as _fold

if TYPE_CHECKING:
    from search_api.domain.sources import SourceSpec

log = logging.getLogger(__name__)

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "DateOrder",
    "DateRead",
    "DateReading",
    "Moment",
    "local_date",
    "moment_local_date",
    "parse_date",
    "parse_date_range",
    "parse_instant",
    "parse_moment",
    "spelled_out",
    "time_zone",
]

DateOrder = Literal["DMY", "MDY", "YMD"]

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


# While a value is read in a source's order, the dates its numeric parts make in no order where
# that differs ("03/25/2027" read as DMY: 25 March; the sides of a range that runs backwards in
# the order), so that why a value is no date comes from the same attempt rather than from
# reading it again. None: nobody asks (no order, or parse_date).
_Missed = list[dt.date] | None


def _numeric(
    first: int, second: int, year: int, order: DateOrder | None, missed: _Missed = None
) -> dt.date | None:
    if order is None:
        # No order stated: sources are overwhelmingly day-first; month-first only when
        # day-first is impossible (e.g. 09/16/2019).
        if first > 12 or second <= 12:
            return _make(year, second, first)
        return _make(year, first, second)
    # YMD never writes the year last: read as the world does
    date = _make(year, first, second) if order == "MDY" else _make(year, second, first)
    if missed is not None:
        # never None where the order reads a date: no order tries both day and month first
        other = _numeric(first, second, year, None)
        if other is not None and other != date:
            missed.append(other)
    return date


def _from_string(
    text: str, order: DateOrder | None, tz: dt.tzinfo | None, missed: _Missed = None
) -> dt.date | None:
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
        return _numeric(int(m.group(1)), int(m.group(3)), int(m.group(4)), order, missed)
    found = _from_words(text)
    if found is not None:
        return found
    # "2023-11-18/2023-11-20", "18 nov. 2023 - 20 nov. 2023": a range starts on its first day.
    span = _range(text, order, missed)
    # dateparser, given an order a date is impossible in, reads it in another itself: it never
    # fails where no order would succeed, so it adds nothing to `missed` (asking it again in no
    # order would be the second reading `missed` is there to spare).
    return span[0] if span else _from_dateparser(text, order, missed)


# Written dates our own reading does not take ("samedi 18 novembre 2023 à 19h", "Sa.,
# 18.11.2023", "sábado, 18 de noviembre de 2023, 19:00 h"): dateparser knows the words of many
# languages. Asked only for text with a year in it, and made to find day, month and year, so it
# never completes a date from today's.
_DATEPARSER_LANGUAGES = ["en", "fr", "es", "de"]
_DATEPARSER_SETTINGS: dict[str, Any] = {
    "STRICT_PARSING": True,
    "REQUIRE_PARTS": ["day", "month", "year"],
    "DATE_ORDER": "DMY",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "PARSERS": ["custom-formats", "absolute-time"],
}
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")
_NUMERIC_IN = re.compile(r"(?<!\d)(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?!\d)")


def _from_dateparser(
    text: str, order: DateOrder | None = None, missed: _Missed = None
) -> dt.date | None:
    years = _YEAR.findall(text)
    if len(years) != 1 or not re.search(r"[^\W\d_]", text):
        return None
    try:
        # Imported on first use: it takes ~0.4 s, and most pages give ISO dates.
        import dateparser

        found = dateparser.parse(
            text,
            languages=_DATEPARSER_LANGUAGES,
            settings={**_DATEPARSER_SETTINGS, "DATE_ORDER": order or "DMY"},
        )
    except Exception:  # dateparser raises on odd input (regex, overflow): no date then
        log.debug("dateparser failed on %r", text, exc_info=True)
        return None
    if found is None or str(found.year) != years[0]:
        return None
    numeric = _NUMERIC_IN.search(text)
    if order is not None and numeric:
        # dateparser reads "Sa., 25.11.2023" day first though told MDY: the source's order
        # says how its numeric date reads, as everywhere else.
        first, _, second, year = numeric.groups()
        return _numeric(int(first), int(second), int(year), order, missed)
    return _make(found.year, found.month, found.day)


class Moment(NamedTuple):
    """A date as written, and what came with it: the time, and whether it was written as a UTC
    instant ("...Z"), whose local date may be another day."""

    date: dt.date
    time: dt.time | None
    offset: dt.timedelta | None
    utc: bool


# ISO 8601 as sites write it: no zero padding ("2024-5-28T16:30"), odd offsets ("+0:00", "+0530").
_ISO_MOMENT = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def _offset(text: str | None) -> dt.timedelta | None:
    if not text:
        return None
    if text.upper() == "Z":
        return dt.timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if ":" in text[1:]:
        hours, minutes = text[1:].split(":", 1)
    elif len(digits) > 2:
        hours, minutes = digits[:-2], digits[-2:]
    else:
        hours, minutes = digits, "0"
    h, m = int(hours), int(minutes)
    if h > 18 or m >= 60:
        return None
    return sign * dt.timedelta(hours=h, minutes=m)


def parse_moment(value: object, *, order: DateOrder | None = None) -> Moment | None:
    """The date of `value` with its time and offset where an ISO-like text gives them. Never
    raises; None when there is no date. `order` reads the dates that are not ISO-like, as in
    parse_date."""
    return _moment(value, order, None)


def _moment(value: object, order: DateOrder | None, missed: _Missed) -> Moment | None:
    try:
        if isinstance(value, dt.datetime):
            day = _make(value.year, value.month, value.day)
            if day is None:
                return None
            offset = value.utcoffset()
            return Moment(day, value.time(), offset, offset == dt.timedelta(0) and False)
        if isinstance(value, Mapping):
            return _moment(value.get("@value"), order, missed)
        if isinstance(value, list | tuple):
            for item in value:
                found = _moment(item, order, missed)
                if found is not None:
                    return found
            return None
        if isinstance(value, str):
            m = _ISO_MOMENT.match(value.strip())
            if m:
                day = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                if day is None:
                    return None
                time = None
                if m.group(4) is not None and int(m.group(4)) < 24:
                    time = dt.time(int(m.group(4)), int(m.group(5)), min(int(m.group(6) or 0), 59))
                zone = m.group(7)
                return Moment(day, time, _offset(zone), bool(zone and zone.upper() == "Z"))
        day = _date(value, order, None, missed)
        return Moment(day, None, None, False) if day else None
    except Exception:  # a normaliser must never raise
        return None


def moment_local_date(moment: Moment, zone: dt.tzinfo) -> dt.date | None:
    """The date in `zone` of a moment written as a UTC instant; None when it is not one."""
    if not moment.utc or moment.time is None:
        return None
    try:
        return local_date(dt.datetime.combine(moment.date, moment.time, tzinfo=dt.UTC), zone)
    except (OverflowError, ValueError):  # the first or last day of the calendar
        return None


# Between the two ends of a range: a dash with spaces or between numbers, a slash (ISO 8601
# intervals), or a word (to, au, bis, al, hasta, until, through).
_RANGE_SPLIT = re.compile(
    r"\s*(?:[–—]|\s-\s|(?<=[\d.])-(?=\s*\d)|(?<=\S)\s+-(?=\S)|/(?=\s*\d{4}-)"
    r"|\s(?:to|au|bis|al|a|hasta|until|till|through|thru|jusqu'au|jusqu’au)\s)\s*",
    re.IGNORECASE,
)
_ISO_DATE = r"\d{4}-\d{1,2}-\d{1,2}(?:[T ][\d:.]+(?:Z|[+-][\d:]+)?)?"
_ISO_RANGE = re.compile(
    rf"^({_ISO_DATE})\s*(?:/|[–—]|\s-\s|-|\s(?:to|au|bis|al|a|hasta)\s)\s*({_ISO_DATE})$",
    re.IGNORECASE,
)
_ISO_ANYWHERE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_RANGE_LEAD = re.compile(r"^\s*(?:from|du|del|de|vom|von|ab)\s+", re.IGNORECASE)


def _parts_of(text: str) -> tuple[int | None, int | None, int | None]:
    """(day, month, year) as far as one side of a range gives them."""
    folded = _TIME.sub(" ", _fold(text))
    tokens = re.findall(r"[a-z]+|\d+", folded)
    day = month = year = None
    for token in tokens:
        if token in _MONTHS and month is None:
            month = _MONTHS[token]
        elif token.isdigit() and len(token) == 4 and year is None:
            year = int(token)
        elif token.isdigit() and len(token) <= 2 and day is None:
            day = int(token)
        elif token.isdigit() and len(token) <= 2 and month is None:
            month = int(token)  # "18.11." before the year
    return day, month, year


def parse_date_range(
    value: object, *, order: DateOrder | None = None
) -> tuple[dt.date, dt.date] | None:
    """Both ends of a range written in one string ("18-20 November 2023", "Nov 18 - Nov 20,
    2023", "du 18 au 20 novembre 2023", "2023-11-18/2023-11-20"); None when `value` is not
    a range of dates. Missing month or year on one side come from the other side."""
    return _range(value, order, None)


def _range(
    value: object, order: DateOrder | None, missed: _Missed
) -> tuple[dt.date, dt.date] | None:
    try:
        if not isinstance(value, str) or len(value) > 120:
            return None
        iso = _ISO_RANGE.match(value.strip())
        if iso:
            pieces = [iso.group(1), iso.group(2)]
        elif _ISO_ANYWHERE.search(value):
            return None
        else:
            text = _RANGE_LEAD.sub("", _TIME.sub(" ", value.strip()))
            pieces = [p for p in _RANGE_SPLIT.split(text) if p.strip()]
        if len(pieces) != 2:
            return None
        left, right = pieces
        # Each side's own: a side read another way makes no date of the whole unless the
        # range, joined from the sides read in no order, is one.
        left_missed: _Missed = None if order is None else []
        right_missed: _Missed = None if order is None else []
        start, end = _date(left, order, None, left_missed), _date(right, order, None, right_missed)
        ruled_out = (start is None and bool(left_missed)) or (end is None and bool(right_missed))
        # A side the order rules out is no date to complete from its parts, day first.
        span = None if ruled_out else _join(left, right, start, end)
        if span is None and missed is not None and (left_missed or right_missed):
            other = _join(
                left,
                right,
                left_missed[-1] if left_missed else start,
                right_missed[-1] if right_missed else end,
            )
            if other is not None:
                missed.append(other[0])
        return span
    except Exception:  # a normaliser must never raise
        return None


def _join(
    left: str, right: str, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    """The range of two sides read as `start` and `end`, what one lacks taken from the other."""
    if start is None or end is None:
        ld, lm, ly = _parts_of(left)
        rd, rm, ry = _parts_of(right)
        if ld is None or rd is None:
            return None
        lm, rm = lm or rm, rm or lm
        ly, ry = ly or ry, ry or ly
        if lm is None or rm is None or ly is None or ry is None:
            return None
        start = start or _make(ly, lm, ld)
        end = end or _make(ry, rm, rd)
        if start is not None and end is not None and end < start and ly == ry:
            start = _make(ly - 1, lm, ld)  # "28 December - 3 January 2024"
    if start is None or end is None or end < start or (end - start).days > 366:
        return None
    return start, end


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
    A source's formats read through its `DateReading` instead, which also says why a date in
    another order is none.
    """
    try:
        return _date(value, order, time_zone(tz) if isinstance(tz, str) else tz, None)
    except Exception:  # a normaliser must never raise
        return None


def _date(
    value: object, order: DateOrder | None, zone: dt.tzinfo | None, missed: _Missed
) -> dt.date | None:
    """parse_date's reading, which may raise."""
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
        return _from_string(value, order, zone, missed)
    if isinstance(value, Mapping):
        # JSON-LD value objects ({"@value": ...}) as produced by RDFa.
        return _date(value.get("@value"), order, zone, missed)
    if isinstance(value, list | tuple):
        # microdata often repeats a property; the first usable one wins.
        for item in value:
            parsed = _date(item, order, zone, missed)
            if parsed is not None:
                return parsed
    return None


def spelled_out(value: object) -> bool:
    """Whether `value` is a date whose month is a word ("4 March 2027", "March 4, 2027",
    "4 de marzo de 2027"): no order reads it another way."""
    try:
        return isinstance(value, str) and len(value) <= 100 and _from_words(value) is not None
    except Exception:  # a normaliser must never raise
        return False


class DateRead(NamedTuple):
    """A value read as a date: the date, or None and, when the value is a date in another
    order than the source's ("03/25/2027" from a DMY source), why (`problem`)."""

    date: dt.date | None
    problem: str | None = None


@dataclass(frozen=True)
class DateReading:
    """How one source writes its dates: its `date_order` (how "03/04/2027" reads) and its
    `time_zone` (the zone whose calendar an instant such as "2027-03-04T22:30Z" falls on). The
    zone is resolved here, once; an unknown name is a ValueError. Every format reads a source's
    dates through one of these (`SourceSpider.dates`)."""

    order: DateOrder | None = None
    zone_name: str | None = None
    zone: dt.tzinfo | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.zone_name is not None:
            object.__setattr__(self, "zone", time_zone(self.zone_name))

    @classmethod
    def of(cls, spec: SourceSpec) -> DateReading:
        """The source's reading, without a setting its format refuses: a PDF source saved with
        a time_zone before pdf refused it reads its dates as it always did."""
        refused = spec.MEANINGLESS
        return cls(
            None if "date_order" in refused else spec.date_order,
            None if "time_zone" in refused else spec.time_zone,
        )

    def read(self, value: object) -> DateRead:
        """The date of `value` in the source's order, an instant's in its zone. Never raises."""
        missed: _Missed = [] if self.order else None
        try:
            date = _date(value, self.order, self.zone, missed)
        except Exception:  # a normaliser must never raise
            date = None
        return DateRead(date, self._problem(value, missed) if date is None else None)

    def moment(self, value: object) -> tuple[Moment | None, str | None]:
        """parse_moment in the source's order, and why `value` is none as in `read`. An
        instant stays as written: what zone it is read in is the caller's to decide."""
        missed: _Missed = [] if self.order else None
        found = _moment(value, self.order, missed)
        return found, self._problem(value, missed) if found is None else None

    def span(self, value: object) -> tuple[dt.date, dt.date] | None:
        """parse_date_range in the source's order."""
        return _range(value, self.order, None)

    def _problem(self, value: object, missed: _Missed) -> str | None:
        if not missed:
            return None
        text = value.strip() if isinstance(value, str) else value
        return f"{text!r} is not a date in the source's order {self.order}"
