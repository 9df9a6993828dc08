"""Events from iCalendar (.ics) feeds."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from icalendar import Calendar
from icalendar.timezone import tzp

from crawlers.extract.events import SUMMARY_MAX, ExtractResult, Note, finish_event, new_event
from crawlers.extract.language import language_code
from crawlers.extract.title_markers import is_online_place
from crawlers.normalise.countries import country_from_timezone, locate
from crawlers.normalise.dates import DateReading, parse_date
from crawlers.normalise.text import clean_text
from crawlers.normalise.urls import canonicalise

__all__ = ["extract_ical"]

log = logging.getLogger(__name__)

# VEVENT properties we turn into fields, plus bookkeeping that says nothing
# about the event; the rest goes to `unmapped`.
_MAPPED = frozenset(
    {
        "SUMMARY",
        "DESCRIPTION",
        "DTSTART",
        "DTEND",
        "DURATION",
        "STATUS",
        "LOCATION",
        "URL",
        "ORGANIZER",
        "CATEGORIES",
        "UID",
    }
)
_HOUSEKEEPING = frozenset({"DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "TRANSP"})
_STATUS = {"CANCELLED": "cancelled", "CONFIRMED": "scheduled"}
_TAG_LIKE = re.compile(r"<\s*[a-zA-Z/!]")
_DAY = dt.timedelta(days=1)


def _zone(name: object) -> dt.tzinfo | None:
    """The zone a TZID or X-WR-TIMEZONE names: IANA, or a Windows name ("Central Standard
    Time") as icalendar knows them; None for anything else."""
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        return None
    try:
        zone = tzp.timezone(name.strip().strip('"'))
    except Exception:  # icalendar's lookup raises on odd names
        return None
    return zone if isinstance(zone, dt.tzinfo) else None


def _tzids(cal: Calendar) -> list[str]:
    """Every TZID the calendar defines or uses, VTIMEZONE blocks with two TZIDs included."""
    names: list[str] = []
    for tz in cal.walk("VTIMEZONE"):
        value = tz.get("TZID")
        names += [str(v) for v in value] if isinstance(value, list) else [str(value or "")]
    for component in cal.walk("VEVENT"):
        for key in ("DTSTART", "DTEND"):
            params = getattr(component.get(key), "params", None)
            if params and params.get("TZID"):
                names.append(str(params.get("TZID")))
    return [n for n in names if n.strip()]


def _text_tzids(text: str) -> list[str]:
    """The TZIDs a calendar's text names, for a calendar read component by component."""
    found = re.findall(r"^TZID:(.+?)\s*$", text, re.IGNORECASE | re.MULTILINE)
    found += re.findall(r";TZID=\"?([^\";:]+)", text, re.IGNORECASE)
    return [name.strip() for name in found if name.strip()]


def _calendar_zone(x_wr: object, tzids: list[str]) -> tuple[dt.tzinfo | None, str]:
    """The zone the calendar lives in, to read its UTC instants as local dates, and what said
    so: X-WR-TIMEZONE, else the one zone (not UTC) its TZIDs name."""
    if x_wr:
        zone = _zone(str(x_wr))
        if zone is not None:
            return zone, f"X-WR-TIMEZONE {str(x_wr).strip()}"
    zones = {}
    for tzid in tzids:
        zone = _zone(tzid)
        if zone is not None and str(zone) not in ("UTC", "Etc/UTC", "GMT"):
            zones[str(zone)] = zone
    if len(zones) == 1:
        ((key, zone),) = zones.items()
        return zone, f"the calendar's time zone {key}"
    return None, ""


def _is_utc(value: dt.datetime) -> bool:
    return (
        value.tzinfo is not None
        and value.utcoffset() == dt.timedelta(0)
        and (str(value.tzinfo) in ("UTC", "Etc/UTC", "UTC+00:00", "Z") or value.tzinfo is dt.UTC)
    )


def _raw_value(prop: Any) -> str:
    try:
        raw = prop.to_ical()
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except Exception:  # icalendar may choke on the odd value; the raw text is enough
        return ""


# A DTSTART/DTEND icalendar cannot read ("20240305T1800", "2024-03-05T18:00:00", a trailing
# blank): the date and time are still plain to see.
_LOOSE_DT = re.compile(
    r"^(\d{4})-?(\d{1,2})-?(\d{1,2})(?:[T\s](\d{1,2}):?(\d{2})(?::?(\d{2}))?)?\s*(Z)?$",
    re.IGNORECASE,
)


def _loose(raw: str) -> dt.date | dt.datetime | None:
    m = _LOOSE_DT.match(raw.strip())
    if not m:
        return None
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m.group(4) is None:
            return day
        moment = dt.datetime.combine(day, dt.time(int(m.group(4)), int(m.group(5))))
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if m.group(7) else moment


class _Reader:
    """Reads one calendar's DTSTART/DTEND values as local dates, noting what it repaired or
    converted."""

    def __init__(self, zone: dt.tzinfo | None, zone_source: str) -> None:
        self.zone = zone
        self.zone_source = zone_source
        self.notes: list[Note] = []

    def local(self, prop: Any, title: str | None, label: str) -> dt.date | dt.datetime | None:
        """A DTSTART/DTEND value as the local date or wall-clock datetime."""
        if prop is None:
            return None
        if isinstance(prop, list):
            prop = prop[0] if prop else None
            if prop is None:
                return None
        try:
            value = prop.dt
        except Exception:  # vBroken raises on .dt; fall back to the raw text
            raw = _raw_value(prop).strip()
            value = _loose(raw)
            if value is not None:
                self.notes.append(
                    Note(
                        "date.ical_value",
                        f"VEVENT {title!r}: {label} {raw!r} is not RFC 5545; read as {value}",
                    )
                )
        if isinstance(value, dt.datetime):
            if _is_utc(value) and self.zone is not None:
                # a UTC instant in a calendar that says where it lives: show the
                # date people there see
                local = value.astimezone(self.zone)
                if local.date() != value.date():
                    self.notes.append(
                        Note(
                            "date.utc_local",
                            f"VEVENT {title!r}: {label} date {local.date()} is the local date of "
                            f"the UTC time {value:%Y-%m-%dT%H:%MZ}, read in {self.zone_source}",
                        )
                    )
                return local
            # TZID times (and floating ones) keep the date as written, whether or
            # not a VTIMEZONE came with them.
            return value
        if isinstance(value, dt.date):
            return value
        return None


def _is_all_day(value: dt.date | dt.datetime | None) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    text = str(value)
    return text if text.strip() else None


def _title(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if _TAG_LIKE.search(text) or "&#" in text:
        return clean_text(text)
    # plain text as published (no whitespace collapsing inside), one line
    return re.sub(r"[\r\n]+", " ", text).strip() or None


def _categories(component: Any) -> list[str]:
    props = component.get("CATEGORIES")
    if props is None:
        return []
    cats: list[str] = []
    for prop in props if isinstance(props, list) else [props]:
        values = getattr(prop, "cats", None)
        if values is None:
            values = str(prop).split(",")
        for cat in values:
            cleaned = clean_text(str(cat), 200)
            if cleaned:
                cats.append(cleaned)
    return cats


def _organiser(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    params = getattr(value, "params", {}) or {}
    name = params.get("CN")
    if name:
        return clean_text(str(name).strip('"'))
    return None


def _language(component: Any) -> tuple[str | None, str | None]:
    """The code in the LANGUAGE parameter of SUMMARY (else of DESCRIPTION, the other text the
    record keeps); else None and the parameter when it names no language, to report it."""
    bad: str | None = None
    for name in ("SUMMARY", "DESCRIPTION"):
        prop = component.get(name)
        if isinstance(prop, list):
            prop = prop[0] if prop else None
        params = getattr(prop, "params", None) or {}
        raw = params.get("LANGUAGE")
        if not isinstance(raw, str) or not raw.strip():
            continue
        code = language_code(raw)
        if code:
            return code, None
        bad = bad or raw.strip()
    return None, bad


def _event(
    component: Any, feed_url: str, reader: _Reader, hint: tuple[str | None, str]
) -> dict[str, Any] | None:
    event = new_event()
    event["title"] = _title(component.get("SUMMARY"))
    title = event["title"]
    start_value = reader.local(component.get("DTSTART"), title, "DTSTART")
    start = parse_date(start_value)
    if start is None or event["title"] is None:
        return None
    event["start_date"] = start
    end: dt.date | None = None
    end_value = reader.local(component.get("DTEND"), title, "DTEND")
    if end_value is None and component.get("DURATION") is not None:
        try:
            duration = component.get("DURATION").dt
        except Exception:  # a broken DURATION is as good as none
            duration = None
        if isinstance(duration, dt.timedelta) and start_value is not None:
            end_value = start_value + duration
    if end_value is not None:
        end = parse_date(end_value)
        if end is not None and _is_all_day(end_value):
            end -= _DAY  # the end of an all-day event is exclusive
    # RFC 5545: no DTEND/DURATION means a one-day (or zero-length) event
    event["end_date"] = start if end is None or end < start else end
    status = _text(component.get("STATUS"))
    event["status"] = _STATUS.get(status.strip().upper()) if status else None
    description = _text(component.get("DESCRIPTION"))
    event["summary"] = clean_text(description, SUMMARY_MAX) if description else None
    location = _text(component.get("LOCATION"))
    if location:
        location = location.strip()
        if re.fullmatch(r"https?://\S+", location, re.IGNORECASE) or is_online_place(location):
            event["online"] = True
        else:
            found = locate(clean_text(location) or "", hint[0], hint[1])
            event["venue"], event["city"], event["country"] = found.location
            if found.inference is not None:
                inf = found.inference
                reader.notes.append(
                    Note(
                        inf.rule,
                        f"VEVENT {title!r}: country {inf.country} inferred from {inf.evidence!r}",
                    )
                )
    own_url = _text(component.get("URL"))
    event["url"] = (canonicalise(own_url.strip(), feed_url) if own_url else None) or (
        canonicalise(feed_url) or feed_url
    )
    event["organiser"] = _organiser(component.get("ORGANIZER"))
    event["categories"] = _categories(component)
    event["language"], event["_bad_language"] = _language(component)
    uid = _text(component.get("UID"))
    event["uid"] = uid.strip() if uid else None
    recurrence = _raw_value(component.get("RECURRENCE-ID")).strip()
    if event["uid"] and recurrence:
        # An occurrence of a recurring event changed on its own (moved, cancelled): an event of
        # its own, which shares the UID of the series.
        event["uid"] = f"{event['uid']}|{recurrence}"
    rrule = component.get("RRULE")
    event["unmapped"] = [
        key
        for key in component
        if key not in _MAPPED
        and key not in _HOUSEKEEPING
        and not (key == "RRULE" and not _raw_value(rrule).strip())
    ]
    return finish_event(event, reader.notes)


def _zone_hint(x_wr: object, tzids: list[str]) -> tuple[str | None, str]:
    """Country of the calendar's time zone, used only to read "City, ST" and postal codes
    right, and what said so."""
    for name in [str(x_wr or ""), *tzids]:
        code = country_from_timezone(name.strip()) if name else None
        if code:
            return code, f"calendar time zone {name.strip()}"
    return None, ""


_BEGIN = re.compile(r"^BEGIN:([A-Z-]+)\s*$", re.IGNORECASE)
_END = re.compile(r"^END:([A-Z-]+)\s*$", re.IGNORECASE)


def _unfolded_lines(text: str) -> list[str]:
    return re.sub(r"\r?\n[ \t]", "", text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blocks(lines: list[str]) -> tuple[list[str], list[tuple[str, list[str], bool]]]:
    """The calendar's own property lines, and its components (name, lines, whether it ended),
    read line by line: a component that never ends closes where the next one begins."""
    head: list[str] = []
    blocks: list[tuple[str, list[str], bool]] = []
    current: list[str] | None = None
    name = ""
    depth = 0
    for line in lines:
        begin, end = _BEGIN.match(line), _END.match(line)
        if current is None:
            if begin and begin.group(1).upper() != "VCALENDAR":
                name, current, depth = begin.group(1).upper(), [line], 1
            elif line.strip() and not begin and not end:
                head.append(line)
            continue
        if begin and begin.group(1).upper() == name and name in ("VEVENT", "VTIMEZONE"):
            blocks.append((name, current, False))  # no END: it stops where the next begins
            current, depth = [line], 1
            continue
        if end and end.group(1).upper() == "VCALENDAR":
            blocks.append((name, current, False))
            current = None
            continue
        current.append(line)
        if begin:
            depth += 1
        elif end:
            depth -= 1
            if depth == 0:
                blocks.append((name, current, True))
                current = None
    if current is not None:
        blocks.append((name, current, False))
    return head, blocks


def _calendar_of(head: list[str], *parts: list[str]) -> Calendar:
    lines = ["BEGIN:VCALENDAR", *head]
    for part in parts:
        lines += part
    return Calendar.from_ical("\r\n".join([*lines, "END:VCALENDAR", ""]))


def _salvage(text: str, result: ExtractResult, reason: str) -> list[Calendar]:
    """The calendar rebuilt component by component, when icalendar cannot read it whole (a
    VTIMEZONE with two TZIDs, a component that never ends, a download cut off): a bad
    component costs that component, never the calendar."""
    head, blocks = _blocks(_unfolded_lines(text))
    if not blocks:
        return []
    zones: list[list[str]] = []
    for number, (_name, lines, ended) in enumerate(
        (b for b in blocks if b[0] == "VTIMEZONE"), start=1
    ):
        try:
            _calendar_of(head, lines if ended else [*lines, "END:VTIMEZONE"])
        except Exception as exc:  # a broken VTIMEZONE: its events keep their TZID's zone
            tzids = [ln.split(":", 1)[1].strip() for ln in lines if ln.upper().startswith("TZID:")]
            result.notes.append(
                Note(
                    "ical.vtimezone_dropped",
                    f"VTIMEZONE {number} ({', '.join(tzids) or 'no TZID'}) dropped: "
                    f"{type(exc).__name__}: {exc}"[:300]
                    + "; its events' times keep the date as written",
                )
            )
            continue
        zones.append(lines if ended else [*lines, "END:VTIMEZONE"])
    calendars: list[Calendar] = []
    events = [b for b in blocks if b[0] == "VEVENT"]
    cut = 0
    for number, (_name, lines, ended) in enumerate(events, start=1):
        if (
            not ended
            and number == len(events)
            and not re.search(r"^END:VCALENDAR", text, re.IGNORECASE | re.MULTILINE)
        ):
            cut += 1  # the download stopped inside it: its last values may be cut short
            continue
        body = lines if ended else [*lines, "END:VEVENT"]
        try:
            calendars.append(_calendar_of(head, *zones, body))
        except Exception as exc:  # one bad VEVENT must not hide the others
            result.errors.append(f"VEVENT {number}: {type(exc).__name__}: {exc}"[:300])
    if cut:
        result.errors.append("truncated iCalendar: no END:VCALENDAR; kept the complete VEVENTs")
    if calendars:
        result.notes.append(
            Note("ical.salvaged", f"calendar read component by component ({reason})"[:300])
        )
    return calendars


def _vevent_count(text: str) -> int:
    return len(re.findall(r"^BEGIN:VEVENT[ \t]*\r?$", text, re.IGNORECASE | re.MULTILINE))


def _own_address(calendars: list[Calendar], url: str) -> str | None:
    """The address a calendar gives itself in RFC 7986's SOURCE ("where a client can retrieve
    updated data for the calendar"; an absolute http(s) URL), its canonical URL as a page's
    `<link rel=canonical>` is: the feed's records name it, whatever address served it (a
    mirror, a proxy, a loopback copy). Not X-ORIGINAL-URL: WordPress calendars put their
    site's home page there (`X-ORIGINAL-URL:http://www.glwater.org`), not the feed."""
    for cal in calendars:
        value = _text(cal.get("SOURCE"))
        if value and re.match(r"(?i)https?://", value.strip()):
            found = canonicalise(value.strip())
            if found:
                return found
    return None


def extract_ical(
    body: bytes | str,
    url: str,
    *,
    reading: DateReading | None = None,
) -> ExtractResult:
    """One event per VEVENT (recurring events: their first occurrence). Never raises.

    The zone of `reading`, the source's, is the one its UTC times are read in,
    before what the calendar suggests (X-WR-TIMEZONE, its one TZID). TZID and floating times
    keep the date as written: they are the event's own wall-clock time already. Its order
    means nothing: iCalendar writes every date year first."""
    result = ExtractResult(events=[], errors=[])
    try:
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
        text = text.lstrip("\ufeff")
        if not text.strip():
            result.errors.append("empty calendar")
            return result
        calendars: list[Calendar] = []
        failure: str | None = None
        try:
            calendars = Calendar.from_ical(text, multiple=True)
        except Exception as exc:  # icalendar raises ValueError and friends
            failure = f"{type(exc).__name__}: {exc}"
        expected = _vevent_count(text)
        salvaged_calendars = False
        if expected and (failure or sum(len(c.walk("VEVENT")) for c in calendars) < expected):
            salvaged = _salvage(text, result, failure or "components that never end")
            if salvaged or not calendars:
                calendars, salvaged_calendars = salvaged, True
        if not calendars and failure:
            result.errors.append(f"broken iCalendar: {failure}"[:300])
            return result
        source = reading or DateReading()
        x_wr = re.search(r"^X-WR-TIMEZONE[^:]*:(.+?)\s*$", text, re.IGNORECASE | re.MULTILINE)
        result.canonical_url = _own_address(calendars, url)
        feed_url = result.canonical_url or url
        for cal in calendars:
            # A calendar read component by component: its zone is the whole document's.
            tzids = _text_tzids(text) if salvaged_calendars else _tzids(cal)
            x_wr_value = x_wr.group(1) if salvaged_calendars and x_wr else cal.get("X-WR-TIMEZONE")
            # The agency's word on the publisher first: a calendar's zone is often only the
            # default of the account that exported it.
            zone, zone_source = (
                (source.zone, f"the source's time_zone {source.zone_name}")
                if source.zone is not None
                else _calendar_zone(x_wr_value, tzids)
            )
            hint = _zone_hint(x_wr_value, tzids)
            for number, component in enumerate(cal.walk("VEVENT"), start=1):
                reader = _Reader(zone, zone_source)
                try:
                    event = _event(component, feed_url, reader, hint)
                except Exception as exc:  # one bad VEVENT must not hide the others
                    result.errors.append(f"VEVENT {number}: {type(exc).__name__}: {exc}"[:300])
                    continue
                if event is None:
                    result.errors.append(f"VEVENT {number} skipped: no SUMMARY or usable DTSTART")
                    continue
                bad_language = event.pop("_bad_language")
                if bad_language:
                    result.errors.append(
                        f"VEVENT {number}: LANGUAGE={bad_language!r} is not a language; ignored"
                    )
                result.events.append(event)
                for note in reader.notes:
                    if note not in result.notes:
                        result.notes.append(note)
        if not result.events and not result.errors:
            if re.search(r"^BEGIN:VEVENT", text, re.IGNORECASE | re.MULTILINE):
                result.errors.append("broken iCalendar: no complete VEVENT")
            elif not calendars:
                result.errors.append("not an iCalendar document")
    except Exception as exc:  # never propagate
        log.debug("iCal extraction failed for %s", url, exc_info=True)
        result.errors.append(f"extraction failed: {type(exc).__name__}: {exc}"[:300])
    return result
