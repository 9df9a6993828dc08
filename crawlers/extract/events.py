"""What every event extractor (schema.org, iCalendar) shares: the event's keys, its result, and
the fields derived the same way whatever the source said (status and online from the title,
sectors from the categories)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawlers.extract.title_markers import online_marker, status_marker
from crawlers.normalise.sectors import map_sectors
from search_api.domain.vocab import FAIR_STATUSES

STATUSES = FAIR_STATUSES

EVENT_KEYS: tuple[str, ...] = (
    "title",
    "summary",
    "url",
    "start_date",
    "end_date",
    "status",
    "online",
    "venue",
    "city",
    "country",
    "organiser",
    "language",
    "categories",
    "sectors",
    "unmapped",
)

SUMMARY_MAX = 2000


@dataclass(frozen=True)
class Note:
    """A value the extractor repaired or inferred rather than read as published, and the rule
    that did it (`rule`: a stable dotted name such as "country.region_postcode"), so that the
    run can say why a field was filled."""

    rule: str
    message: str


@dataclass
class ExtractResult:
    events: list[dict[str, Any]]
    errors: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    canonical_url: str | None = None
    next_url: str | None = None
    # Absolute hrefs of the page's <a> elements, when the extractor parsed the HTML anyway, so
    # the spider need not parse it a second time to follow links.
    links: list[str] | None = None


def new_event() -> dict[str, Any]:
    """An event dict with every key present and empty."""
    event: dict[str, Any] = dict.fromkeys(EVENT_KEYS)
    event["online"] = False
    event["categories"] = []
    event["sectors"] = []
    event["unmapped"] = []
    return event


def status_from_title(title: str | None) -> str | None:
    marker = status_marker(title)
    return marker.value if marker else None


def online_from_title(title: str | None) -> bool:
    return online_marker(title) is not None


def finish_event(event: dict[str, Any], notes: list[Note] | None = None) -> dict[str, Any]:
    """Fill the fields every extractor derives the same way; what the title said goes to `notes`."""
    title = event.get("title")
    if event.get("status") in (None, "scheduled"):
        # A title marker beats "EventScheduled": calendars keep the default status and put the
        # change in the title.
        marker = status_marker(title)
        if marker is not None:
            event["status"] = marker.value
            if notes is not None:
                notes.append(
                    Note(
                        "status.title",
                        f"event {title!r}: status {marker.value!r} from the title "
                        f"marker {marker.marker!r}",
                    )
                )
    if event.get("status") == "moved_online":
        event["online"] = True
    elif not event.get("online"):
        marker = online_marker(title)
        if marker is not None:
            event["online"] = True
            if notes is not None:
                notes.append(
                    Note(
                        "online.title",
                        f"event {title!r}: online from the title marker {marker.marker!r}",
                    )
                )
    start, end = event.get("start_date"), event.get("end_date")
    if start is not None and end is not None and end < start:
        # an end before the start is a data-entry slip, not a negative-length fair
        event["end_date"] = start
    categories: list[str] = []
    for cat in event.get("categories") or []:
        if isinstance(cat, str) and cat.strip() and cat.strip() not in categories:
            categories.append(cat.strip())
    event["categories"] = categories
    event["sectors"] = map_sectors(categories)[0]
    event["unmapped"] = sorted(set(event.get("unmapped") or []))
    return event
