"""`feed`: RSS 2.0 and Atom feeds, one record per entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from crawlers.extract.feed import extract_feed
from search_api.domain.sources import SourceFormat, SourceSpec

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider


class FeedSource(SourceSpec):
    format: Literal["feed"] = "feed"


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    content_type = spider.content_type(response) or None
    result = extract_feed(response.body, response.url, spider.spec.kind, content_type)
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    spider.collector.failed += result.skipped
    for entry in result.entries:
        yield {**entry, "_page": response.url}
    # Atom paging (RFC 5005): rel="next" on the feed.
    yield from spider.follow_links(response, result.next_url)


FORMAT = SourceFormat(
    name="feed",
    source=FeedSource,
    parse=parse,
    reads="RSS 2.0 and Atom entries: title, link, summary (plain text), published date (a "
    "requirement's `published_date`, else `as_of`), categories. A category that is a country "
    'code or name (EN/FR/ES) or a bloc becomes a market; "HS 19, 20" becomes hs_codes; a '
    'requirement type ("Étiquetage") or finance instrument ("Credit insurance") fills that '
    'field; other words map to sectors. Atom `rel="next"` pages are followed.',
)
