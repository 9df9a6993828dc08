"""PDF documents: each one is one record, typically a requirement.

A start URL may also be an HTML page listing documents: its links to PDFs (a `.pdf` path, or
matching `follow.allow`) are followed, so a source can be "the publications page".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse

from crawlers.extract.pdf import extract_pdf
from crawlers.normalise.urls import canonicalise
from crawlers.spiders.base import SourceSpider


class PdfSpider(SourceSpider):
    name = "pdf"

    def parse_page(self, response: Response) -> Iterable[Any]:
        if self._is_listing(response):
            yield from self._follow_documents(response)
            return
        result = extract_pdf(response.body, response.url, self.spec.kind)
        for message in result.errors:
            self.collector.add_error(response.url, message)
        for line in result.found:
            self.logger.info("%s: %s", response.url, line)
        if result.record is None:
            return
        # A document is its URL: a new version published at the same address updates it.
        key = canonicalise(response.url) or response.url
        yield {**result.record, "_key": f"pdf:{key}", "_page": response.url}

    def _is_listing(self, response: Response) -> bool:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        return (
            isinstance(response, TextResponse)
            and "html" in content_type
            and not urlsplit(response.url).path.lower().endswith(".pdf")
        )

    def _follow_documents(self, response: Response) -> Iterable[Any]:
        for href in response.css("a::attr(href)").getall():  # type: ignore[attr-defined]
            url = response.urljoin(href)
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if urlsplit(url).path.lower().endswith(".pdf") or any(
                p.search(url) for p in self._allow
            ):
                if any(p.search(url) for p in self._deny):
                    continue
                request = self._request(url)
                if request is not None:
                    yield request
