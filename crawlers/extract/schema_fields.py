"""One schema.org Event node (from JSON-LD, microdata or RDFa, in the same compact shape) to the
fields of an event, saying in notes what was inferred rather than read."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from crawlers.extract.events import SUMMARY_MAX, Note, new_event
from crawlers.extract.language import first_language
from crawlers.extract.page_context import PageHints
from crawlers.extract.title_markers import is_online_place
from crawlers.normalise.countries import Inference, address_country, clean_city, locate
from crawlers.normalise.dates import DateReading, Moment
from crawlers.normalise.places import regions_named
from crawlers.normalise.text import clean_text
from crawlers.normalise.zones import date_in_zones, zone_named, zones_of

__all__ = ["MAPPED", "event_from_node", "first", "resolve", "type_names"]

# Properties turned into event fields; everything else on an Event node is
# reported in `unmapped` so that new vocabulary on a source shows up.
MAPPED = frozenset(
    {
        "name",
        "description",
        "url",
        "startDate",
        "endDate",
        "eventStatus",
        "eventAttendanceMode",
        "location",
        "organizer",
        "keywords",
        "category",
        "inLanguage",
        "eventSchedule",
    }
)
_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")


def short(name: object) -> str:
    text = str(name).strip()
    for prefix in _SCHEMA_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def type_names(node: Mapping[str, Any]) -> list[str]:
    types = node.get("@type", node.get("type"))
    if not isinstance(types, list):
        types = [types]
    names = []
    for t in types:
        if isinstance(t, str):
            # microdata may give several types in one itemtype, space-separated
            names += [re.split(r"[/#:]", part)[-1] for part in t.split() if part]
    return names


def first(value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            if item not in (None, "", [], {}):
                return item
        return None
    return value


def resolve(value: Any, ids: Mapping[str, dict[str, Any]]) -> Any:
    """A reference ({"@id": ...} only, or a bare "#id" string) as the node it names."""
    if isinstance(value, dict) and set(value) <= {"@id", "@type"}:
        node_id = value.get("@id")
        if isinstance(node_id, str) and node_id in ids:
            return ids[node_id]
    if isinstance(value, str) and value in ids and value.startswith(("#", "_:", "http")):
        return ids[value]
    return value


def _name_of(value: Any, ids: Mapping[str, dict[str, Any]]) -> str | None:
    value = resolve(first(value), ids)
    if isinstance(value, dict):
        value = first(value.get("name")) or first(value.get("@value"))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return clean_text(value)
    return None


def _token(value: Any) -> str:
    value = first(value)
    if isinstance(value, dict):
        value = value.get("@id") or value.get("@value") or value.get("name")
    if not isinstance(value, str):
        return ""
    return re.sub(r"[^a-z]", "", short(value).lower())


def _status(value: Any) -> str | None:
    token = _token(value)
    if not token:
        return None
    if "cancel" in token:
        return "cancelled"
    if "postpon" in token:
        return "postponed"
    if "reschedul" in token:
        return "rescheduled"
    if "movedonline" in token:
        return "moved_online"
    if "scheduled" in token or "onschedule" in token or "confirmed" in token:
        return "scheduled"
    return None


def _categories(node: Mapping[str, Any]) -> list[str]:
    cats: list[str] = []
    for key in ("keywords", "category"):
        value = node.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                item = first(item.get("name"))
            if not isinstance(item, str):
                continue
            # keywords is a comma-separated text in schema.org
            pieces = item.split(",") if key == "keywords" else [item]
            for piece in pieces:
                cleaned = clean_text(piece, 200)
                if cleaned:
                    cats.append(cleaned)
    return cats


def _language_texts(value: Any, ids: Mapping[str, dict[str, Any]]) -> list[str]:
    """What an inLanguage says, in order: Text tags, and Language objects' code
    (`alternateName`) before their `name`."""
    texts: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        item = resolve(item, ids)
        if isinstance(item, dict):
            for key in ("alternateName", "name", "@value"):
                found = item.get(key)
                texts += found if isinstance(found, list) else [found] if found else []
        elif item is not None:
            texts.append(item)
    return [t.strip() for t in texts if isinstance(t, str) and t.strip()]


def _in_language(value: Any, ids: Mapping[str, dict[str, Any]]) -> tuple[str | None, list[str]]:
    """The code of the first inLanguage value that is a language; else None and the
    values it gave, so that a tag that means nothing can be reported."""
    texts = _language_texts(value, ids)
    code = first_language(texts)
    return code, [] if code else texts


def _is_url(text: str) -> bool:
    return bool(re.match(r"^\s*(?:https?://|www\.)\S+\s*$", text, re.IGNORECASE))


# ------------------------------------------------------------------ location


class _Place:
    """Where the event is, as far as the node says: fields, and the region for its time zone."""

    def __init__(self) -> None:
        self.physical = False
        self.virtual = False
        self.region: str | None = None
        self.inference: Inference | None = None


def _address_text(place: Mapping[str, Any], ids: Mapping[str, dict[str, Any]]) -> Any:
    address = resolve(first(place.get("address")), ids)
    if address is None and any(
        k in place for k in ("addressLocality", "addressCountry", "postalCode", "addressRegion")
    ):
        address = place  # address fields written straight onto the Place
    return address


def _region_code(address: Any) -> str | None:
    if isinstance(address, Mapping):
        region = first(address.get("addressRegion"))
        if isinstance(region, str):
            regions = regions_named(region)
            return regions[0].code if len(regions) == 1 else None
    return None


def _apply_location(
    event: dict[str, Any], node: Mapping[str, Any], ids: Mapping[str, Any], hints: PageHints
) -> _Place:
    """Fill venue/city/country; say what kind of place the event has."""
    where = _Place()
    raw = node.get("location")
    locations = raw if isinstance(raw, list) else [raw]
    physical: list[Any] = []
    for loc in locations:
        loc = resolve(loc, ids)
        if isinstance(loc, dict):
            if "VirtualLocation" in type_names(loc):
                where.virtual = True
            elif set(loc) - {"@type", "@id", "url"} or "Place" in type_names(loc):
                physical.append(loc)
            elif isinstance(loc.get("url"), str):
                where.virtual = True  # {"url": ...} alone: a link to join
        elif isinstance(loc, str) and loc.strip():
            if _is_url(loc) or is_online_place(loc):
                where.virtual = True
            else:
                physical.append(loc)
    if not physical:
        return where
    where.physical = True
    place = physical[0]
    hint, source = hints.country, hints.source
    if isinstance(place, str):
        found = locate(clean_text(place) or "", hint, source)
        event["venue"], event["city"], event["country"] = found.location
        where.inference = found.inference
        where.region = _region_from_text(place)
        return where
    venue = _name_of(place.get("name"), ids)
    address = _address_text(place, ids)
    if isinstance(address, dict):
        event["city"] = clean_city(clean_text(first(address.get("addressLocality"))))
        found_country = address_country(address, hint, source)
        if found_country:
            event["country"], where.inference = found_country
        where.region = _region_code(address)
        if event["country"] is None and venue:
            # A Place whose name holds the whole address ("City Hall, 1 Main St, Akron, OH")
            by_name = locate(venue, hint, source)
            if by_name.location.country:
                event["country"], where.inference = by_name.location.country, by_name.inference
                event["city"] = event["city"] or by_name.location.city
    else:
        text = clean_text(address) if isinstance(address, str) else None
        # no address at all: the Place's name may be the address
        found = locate(text or venue or "", hint, source)
        event["city"], event["country"] = found.location.city, found.location.country
        where.inference = found.inference
        where.region = _region_from_text(text or venue or "")
        if text and (not venue or venue == text):
            # the Place name repeats the whole address ("Club, 1 Rd, City, ST")
            venue = found.location.venue or venue
    event["venue"] = venue
    return where


def _region_from_text(text: str) -> str | None:
    parts = [p.strip() for p in re.split(r"[,;\n]+", text) if p.strip()]
    for part in reversed(parts[-3:]):
        for piece in (part, part.split()[0] if part.split() else ""):
            regions = regions_named(piece)
            if len(regions) == 1:
                return regions[0].code
    return None


# ------------------------------------------------------------------ dates


def _schedule_zone(node: Mapping[str, Any]) -> dt.tzinfo | None:
    schedule = first(node.get("eventSchedule"))
    if isinstance(schedule, Mapping):
        return zone_named(first(schedule.get("scheduleTimezone")))
    return None


def _zones(
    node: Mapping[str, Any],
    moments: list[Moment | None],
    event: Mapping[str, Any],
    where: _Place,
    source_zone: dt.tzinfo | None,
) -> tuple[tuple[dt.tzinfo, ...], str]:
    """The zones the event's UTC times are read in, and what said so: what the event says of
    itself, else the source's time_zone, else the zones of its place."""
    zone = _schedule_zone(node)
    if zone is not None:
        return (zone,), f"its scheduleTimezone {zone}"
    for moment in moments:
        # another of its times written with the local offset ("endDate": "...-05:00")
        if moment is not None and moment.offset and not moment.utc:
            return (dt.timezone(moment.offset),), "the offset of its other times"
    if source_zone is not None:
        return (source_zone,), f"the source's time_zone {source_zone}"
    country = event.get("country")
    if country:
        zones = zones_of(country, where.region)
        label = f"{country}-{where.region}" if where.region and len(zones) else country
        return zones, f"the time zones of {label}"
    return (), ""


def _read_dates(
    event: dict[str, Any],
    node: Mapping[str, Any],
    where: _Place,
    notes: list[Note],
    reading: DateReading,
) -> None:
    raw_start, raw_end = first(node.get("startDate")), first(node.get("endDate"))
    schedule = first(node.get("eventSchedule"))
    if raw_start in (None, "") and isinstance(schedule, Mapping):
        # A recurring event may give its dates only in its Schedule: its first occurrence (the
        # Schedule's endDate ends the series, not the occurrence), as for iCalendar RRULEs.
        raw_start = first(schedule.get("startDate"))
    # ISO 8601 values mean what they say whatever the order; the source's order reads the
    # others ("03/04/2027"). A UTC time is read in a zone below, the event's own first.
    start_m, start_problem = reading.moment(raw_start)
    end_m, end_problem = reading.moment(raw_end)
    start = start_m.date if start_m else None
    end = end_m.date if end_m else None
    title = event["title"]
    span = reading.span(raw_start) if isinstance(raw_start, str) else None
    if span is not None:
        start = span[0]
        if end is None and span[1] != span[0]:
            end = span[1]
            notes.append(
                Note("date.range", f"event {title!r}: end date {end} from the range {raw_start!r}")
            )
    elif isinstance(raw_end, str) and end is None:
        end_span = reading.span(raw_end)
        end = end_span[1] if end_span else None
    for label, value, wrong_order in (
        ("startDate", start, start_problem),
        ("endDate", end, end_problem),
    ):
        if value is None and wrong_order:
            event["_date_problems"].append(f"{label} {wrong_order}")
    if not any(m is not None and m.utc for m in (start_m, end_m)):
        event["start_date"], event["end_date"] = start, end
        return
    zones, why = _zones(node, [start_m, end_m], event, where, reading.zone)
    for label, moment, raw in (("start", start_m, raw_start), ("end", end_m, raw_end)):
        local = date_in_zones(moment, zones) if moment is not None else None
        if local is None or moment is None or local == moment.date:
            continue
        if label == "start":
            start = local
        else:
            end = local
        notes.append(
            Note(
                "date.utc_local",
                f"event {title!r}: {label} date {local} is the local date of the UTC time "
                f"{raw!r}, read in {why}",
            )
        )
    event["start_date"], event["end_date"] = start, end


# ------------------------------------------------------------------ the event


def event_from_node(
    node: Mapping[str, Any],
    ids: Mapping[str, Any],
    hints: PageHints,
    notes: list[Note],
    reading: DateReading | None = None,
) -> dict[str, Any]:
    """The event's fields, `_bad_language` and `_date_problems` (dates not in the source's
    order) for the caller to report and drop."""
    event = new_event()
    event["_date_problems"] = []
    event["title"] = _name_of(node.get("name"), ids)
    description = first(node.get("description"))
    if isinstance(description, str):
        event["summary"] = clean_text(description, SUMMARY_MAX)
    url = first(node.get("url"))
    if isinstance(url, dict):
        url = url.get("@id")
    event["url"] = url if isinstance(url, str) else None  # resolved after merging
    event["status"] = _status(node.get("eventStatus"))
    mode = _token(node.get("eventAttendanceMode"))
    where = _apply_location(event, node, ids, hints)
    title = event["title"]
    if where.inference is not None:
        inf = where.inference
        notes.append(
            Note(inf.rule, f"event {title!r}: country {inf.country} inferred from {inf.evidence!r}")
        )
    elif event["country"] is None and where.physical and hints.region_country:
        # The page says where it is (geo.region) and the address names no other place.
        event["country"] = hints.region_country
        notes.append(
            Note(
                "country.page_region",
                f"event {title!r}: country {hints.region_country} from the page's {hints.source}",
            )
        )
    _read_dates(event, node, where, notes, reading or DateReading())
    online = "online" in mode and "mixed" not in mode
    event["online"] = online or (where.virtual and not where.physical)
    event["organiser"] = _name_of(node.get("organizer"), ids)
    event["categories"] = _categories(node)
    event["language"], event["_bad_language"] = _in_language(node.get("inLanguage"), ids)
    event["unmapped"] = [k for k in node if not k.startswith("@") and k not in MAPPED]
    return event
