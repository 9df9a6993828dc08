"""`schema_org`: Events in JSON-LD, microdata and RDFa, following links and rel=next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from crawlers.extract.schema_org import extract_events
from search_api.domain.sources import SourceFormat, SourceSpec

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider


class SchemaOrgSource(SourceSpec):
    format: Literal["schema_org"] = "schema_org"


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    if not spider.is_text(response):
        spider.collector.add_error(
            response.url,
            f"not an HTML page ({spider.content_type(response) or '?'})",
        )
        return
    result = extract_events(
        response.body,
        response.url,
        encoding=getattr(response, "encoding", None),
        reading=spider.dates,
    )
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    for note in result.notes:
        spider.collector.add_note(response.url, note.rule, note.message)
    shared = Counter(event.get("url") for event in result.events)
    for event in result.events:
        # The canonical URL identifies an event that has a URL of its own, so a renamed or
        # rescheduled event updates its record and one page reached by two URLs is one record.
        # Events sharing a URL (a list page without detail links) add the title.
        url = event.get("url")
        key = url if url and shared[url] == 1 else f"{url}|{event.get('title')}"
        yield {**event, "_key": key, "_page": result.canonical_url or response.url}
    yield from spider.follow_links(response, result.next_url, result.links)


FORMAT = SourceFormat(
    name="schema_org",
    source=SchemaOrgSource,
    parse=parse,
    reads="Event and its subtypes (ExhibitionEvent, BusinessEvent, ...) in JSON-LD (single "
    "object, arrays, `@graph`), microdata and RDFa; follows links matching `follow.allow` and "
    "`rel=next` pagination up to `follow.max_pages` (default 100).",
)
