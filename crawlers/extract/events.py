"""What every event extractor (schema.org, iCalendar) shares: the event's keys, its result, and
the fields derived the same way whatever the source said (status and online from the title,
sectors from the categories)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class ExtractResult:
    events: list[dict[str, Any]]
    errors: list[str] = field(default_factory=list)
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


# Organisers often flag a change only in the title: "Board Meeting (Cancelled)",
# "CANCELLED: Expo 2027", "[Postponed] ...". Bracketed or prefixed markers only,
# so that "Cancellation insurance seminar" is not taken as cancelled.
_TITLE_STATUS = (
    (
        re.compile(
            r"[(\[]\s*(?:cancel+ed|annul[ée]e?|cancelad[oa])\s*[)\]]|"
            r"^\s*(?:cancel+ed|annul[ée]e?|cancelad[oa])\s*[:\-–|]",
            re.IGNORECASE,
        ),
        "cancelled",
    ),
    (
        re.compile(
            r"[(\[]\s*(?:postponed|report[ée]e?|aplazad[oa]|pospuest[oa])\s*[)\]]|"
            r"^\s*(?:postponed|report[ée]e?|aplazad[oa])\s*[:\-–|]",
            re.IGNORECASE,
        ),
        "postponed",
    ),
    (
        re.compile(
            r"[(\[]\s*(?:rescheduled|new date)\s*[)\]]|^\s*rescheduled\s*[:\-–|]", re.IGNORECASE
        ),
        "rescheduled",
    ),
)
# "(Virtual)", "(Online)", "[Webinar]": the event itself happens online. A
# "(Hybrid)" event still has a physical venue, so it is not online.
_TITLE_ONLINE = re.compile(
    r"[(\[]\s*(?:virtual|online|webinar|en ligne|virtuel(?:le)?|en l[ií]nea)"
    r"(?:\s+(?:event|meeting|only))?\s*[)\]]",
    re.IGNORECASE,
)


def status_from_title(title: str | None) -> str | None:
    if not title:
        return None
    for pattern, status in _TITLE_STATUS:
        if pattern.search(title):
            return status
    return None


def online_from_title(title: str | None) -> bool:
    return bool(title and _TITLE_ONLINE.search(title))


def finish_event(event: dict[str, Any]) -> dict[str, Any]:
    """Fill the fields every extractor derives the same way."""
    title = event.get("title")
    if event.get("status") in (None, "scheduled"):
        event["status"] = status_from_title(title) or event.get("status")
    if event.get("status") == "moved_online" or online_from_title(title):
        event["online"] = True
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
