"""schema.org Event data from JSON-LD, microdata and RDFa pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Response, TextResponse

from crawlers.extract.schema_org import extract_events
from crawlers.spiders.base import SourceSpider


class SchemaOrgSpider(SourceSpider):
    name = "schema_org"

    def parse_page(self, response: Response) -> Iterable[Any]:
        if not isinstance(response, TextResponse):
            self.collector.add_error(response.url, "not an HTML page "
                                     f"({response.headers.get('Content-Type', b'?').decode()})")  # fmt: skip
            return
        result = extract_events(response.body, response.url, encoding=response.encoding)
        for message in result.errors:
            self.collector.add_error(response.url, message)
        for event in result.events:
            # One page reached by two URLs is one record: key on the canonical URL.
            yield {**event, "_key": f"{event.get('url')}|{event.get('title')}",
                   "_page": result.canonical_url or response.url}  # fmt: skip
        yield from self.follow_links(response, result.next_url)
