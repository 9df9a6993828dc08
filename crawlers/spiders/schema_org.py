"""schema.org Event data from JSON-LD, microdata and RDFa pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from scrapy.http import Response, TextResponse

from crawlers.extract.schema_org import extract_events
from crawlers.spiders.base import SourceSpider


class SchemaOrgSpider(SourceSpider):
    name = "schema_org"

    def parse_page(self, response: Response) -> Iterable[Any]:
        if not isinstance(response, TextResponse):
            self.collector.add_error(
                response.url,
                f"not an HTML page ({response.headers.get('Content-Type', b'?').decode()})",
            )
            return
        result = extract_events(response.body, response.url, encoding=response.encoding)
        for message in result.errors:
            self.collector.add_error(response.url, message)
        shared = Counter(event.get("url") for event in result.events)
        for event in result.events:
            # The canonical URL identifies an event that has a URL of its own, so a renamed
            # or rescheduled event updates its record and one page reached by two URLs is one
            # record. Events sharing a URL (a list page without detail links) add the title.
            url = event.get("url")
            key = url if url and shared[url] == 1 else f"{url}|{event.get('title')}"
            yield {**event, "_key": key, "_page": result.canonical_url or response.url}
        yield from self.follow_links(response, result.next_url, result.links)
