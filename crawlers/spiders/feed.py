"""RSS 2.0 and Atom feeds: one record per entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Response

from crawlers.extract.feed import extract_feed
from crawlers.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name = "feed"

    def parse_page(self, response: Response) -> Iterable[Any]:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        result = extract_feed(response.body, response.url, self.spec.kind, content_type)
        for message in result.errors:
            self.collector.add_error(response.url, message)
        self.collector.failed += result.skipped
        for entry in result.entries:
            yield {**entry, "_page": response.url}
        # Atom paging (RFC 5005): rel="next" on the feed.
        yield from self.follow_links(response, result.next_url)
