"""Events from iCalendar (.ics) feeds."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar

from crawlers.extract.events import SUMMARY_MAX, ExtractResult, finish_event, new_event
from crawlers.extract.language import language_code
from crawlers.normalise.countries import country_from_timezone, split_location
from crawlers.normalise.dates import parse_date
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


def _calendar_zone(cal: Calendar) -> dt.tzinfo | None:
    name = cal.get("X-WR-TIMEZONE")
    if not name:
        return None
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


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


def _local(prop: Any, cal_zone: dt.tzinfo | None) -> dt.date | dt.datetime | None:
    """A DTSTART/DTEND value as the local date or wall-clock datetime."""
    if prop is None:
        return None
    try:
        value = prop.dt
    except Exception:  # vBroken raises on .dt; fall back to the raw text
        value = None
    if isinstance(value, dt.datetime):
        if _is_utc(value) and cal_zone is not None:
            # a UTC instant in a calendar that says where it lives: show the
            # date people there see
            return value.astimezone(cal_zone)
        # TZID times (and floating ones) keep the date as written, whether or
        # not a VTIMEZONE came with them.
        return value
    if isinstance(value, dt.date):
        return value
    raw = _raw_value(prop).strip()
    if re.fullmatch(r"\d{8}", raw):
        return parse_date(raw)
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
    component: Any, feed_url: str, cal_zone: dt.tzinfo | None, hint: str | None
) -> dict[str, Any] | None:
    event = new_event()
    event["title"] = _title(component.get("SUMMARY"))
    start_value = _local(component.get("DTSTART"), cal_zone)
    start = parse_date(start_value)
    if start is None or event["title"] is None:
        return None
    event["start_date"] = start
    end: dt.date | None = None
    end_value = _local(component.get("DTEND"), cal_zone)
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
        if re.fullmatch(r"https?://\S+", location, re.IGNORECASE):
            event["online"] = True
        else:
            loc = split_location(clean_text(location) or "", hint=hint)
            event["venue"], event["city"], event["country"] = loc
    own_url = _text(component.get("URL"))
    event["url"] = (canonicalise(own_url.strip(), feed_url) if own_url else None) or (
        canonicalise(feed_url) or feed_url
    )
    event["organiser"] = _organiser(component.get("ORGANIZER"))
    event["categories"] = _categories(component)
    event["language"], event["_bad_language"] = _language(component)
    uid = _text(component.get("UID"))
    event["uid"] = uid.strip() if uid else None
    rrule = component.get("RRULE")
    event["unmapped"] = [
        key
        for key in component
        if key not in _MAPPED
        and key not in _HOUSEKEEPING
        and not (key == "RRULE" and not _raw_value(rrule).strip())
    ]
    return finish_event(event)


def _zone_hint(cal: Calendar) -> str | None:
    """Country of the calendar's time zone, used only to read "City, ST" right."""
    names = [cal.get("X-WR-TIMEZONE")]
    names += [tz.get("TZID") for tz in cal.walk("VTIMEZONE")]
    for component in cal.walk("VEVENT"):
        prop = component.get("DTSTART")
        params = getattr(prop, "params", None)
        if params and params.get("TZID"):
            names.append(params.get("TZID"))
            break
    for name in names:
        code = country_from_timezone(str(name)) if name else None
        if code:
            return code
    return None


def _salvage_truncated(text: str, errors: list[str]) -> list[Any]:
    """icalendar silently returns nothing for a calendar cut off mid-way (an
    interrupted download); keep the VEVENTs that did arrive complete."""
    ends = [m.end() for m in re.finditer(r"^END:VEVENT[ \t]*$", text, re.I | re.M)]
    if not ends or not re.match(r"\s*BEGIN:VCALENDAR", text, re.IGNORECASE):
        return []
    try:
        calendars = Calendar.from_ical(text[: ends[-1]] + "\r\nEND:VCALENDAR\r\n", multiple=True)
    except Exception:  # still broken: report below as no complete VEVENT
        return []
    if calendars:
        errors.append("truncated iCalendar: no END:VCALENDAR; kept the complete VEVENTs")
    return list(calendars)


def extract_ical(body: bytes | str, url: str) -> ExtractResult:
    """One event per VEVENT (recurring events: their first occurrence). Never raises."""
    result = ExtractResult(events=[], errors=[])
    try:
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
        text = text.lstrip("\ufeff")
        if not text.strip():
            result.errors.append("empty calendar")
            return result
        try:
            calendars = Calendar.from_ical(text, multiple=True)
        except Exception as exc:  # icalendar raises ValueError and friends
            result.errors.append(f"broken iCalendar: {type(exc).__name__}: {exc}"[:300])
            return result
        if not calendars:
            calendars = _salvage_truncated(text, result.errors)
        for cal in calendars:
            cal_zone = _calendar_zone(cal)
            hint = _zone_hint(cal)
            for number, component in enumerate(cal.walk("VEVENT"), start=1):
                try:
                    event = _event(component, url, cal_zone, hint)
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
        if not result.events and not result.errors:
            if re.search(r"^BEGIN:VEVENT", text, re.IGNORECASE | re.MULTILINE):
                result.errors.append("broken iCalendar: no complete VEVENT")
            elif not calendars:
                result.errors.append("not an iCalendar document")
    except Exception as exc:  # never propagate
        log.debug("iCal extraction failed for %s", url, exc_info=True)
        result.errors.append(f"extraction failed: {type(exc).__name__}: {exc}"[:300])
    return result
