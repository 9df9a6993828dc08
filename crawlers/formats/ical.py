"""`ical`: the VEVENTs of an iCalendar feed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from crawlers.extract.ical import extract_ical
from search_api.domain.sources import SourceFormat, SourceSpec

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider


class IcalSource(SourceSpec):
    format: Literal["ical"] = "ical"

    MEANINGLESS: ClassVar[dict[str, str]] = {
        "date_order": "iCalendar writes every date year first (20270304, RFC 5545)"
    }


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    result = extract_ical(response.body, response.url, reading=spider.dates)
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    for note in result.notes:
        spider.collector.add_note(response.url, note.rule, note.message)
    uses = Counter(event.get("uid") for event in result.events if event.get("uid"))
    for event in result.events:
        # A UID identifies an event across edits; without one, its title and start do. Some
        # publishers give every event the same UID (an HTML fragment, a constant): a UID that
        # several VEVENTs share identifies none of them.
        uid = event.get("uid")
        key = uid if uid and uses[uid] == 1 else None
        if key is None:
            key = f"{uid or ''}|{event.get('title')}|{event.get('start_date')}".lstrip("|")
        yield {**event, "_key": f"uid:{key}", "_page": result.canonical_url or response.url}


FORMAT = SourceFormat(
    name="ical",
    source=IcalSource,
    parse=parse,
    reads="VEVENTs of an iCalendar feed: all-day dates (DTEND exclusive), TZID and UTC times, "
    "STATUS:CANCELLED, CATEGORIES as sectors, LOCATION split into venue/city/country; the "
    "calendar's own address (RFC 7986 SOURCE) as its records' source URL.",
)
