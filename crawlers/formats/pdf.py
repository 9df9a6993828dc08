"""`pdf`: each document is one record, typically a requirement.

A start URL may also be an HTML page listing documents: its links to PDFs (a `.pdf` path, or
matching `follow.allow`) are followed, so a source can be "the publications page".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit

from crawlers.extract.pdf import extract_pdf
from crawlers.normalise.urls import canonicalise
from search_api.domain.sources import SourceFormat, SourceSpec

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider


class PdfSource(SourceSpec):
    format: Literal["pdf"] = "pdf"

    MEANINGLESS: ClassVar[dict[str, str]] = {
        "time_zone": "a document's dates are read from its text, which gives them without a time"
    }


def _is_listing(response: Response, spider: SourceSpider) -> bool:
    content_type = spider.content_type(response).lower()
    return (
        spider.is_text(response)
        and "html" in content_type
        and not urlsplit(response.url).path.lower().endswith(".pdf")
    )


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    if _is_listing(response, spider):
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            is_document = urlsplit(url).path.lower().endswith(".pdf")
            if (is_document or spider.allowed(url)) and not spider.denied(url):
                request = spider.page_request(url)
                if request is not None:
                    yield request
        return
    spec = spider.spec
    result = extract_pdf(response.body, response.url, spec.kind, reading=spider.dates)
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    for line in result.found:
        spider.logger.info("%s: %s", response.url, line)
    if result.record is None:
        return
    # A document is its URL: a new version published at the same address updates it.
    key = canonicalise(response.url) or response.url
    yield {**result.record, "_key": f"pdf:{key}", "_page": response.url}


FORMAT = SourceFormat(
    name="pdf",
    source=PdfSource,
    parse=parse,
    reads="A document as one record: title (metadata, else the first line), full text for "
    "search, HS codes it mentions, and the publication, entry-into-force and comment-deadline "
    "dates it states. An HTML start page is read as a list of documents (its `.pdf` links).",
)
