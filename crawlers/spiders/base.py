"""The one spider: start URLs, bounded link following, errors recorded on the run; each fetched
page goes to its source format's `parse` (crawlers/formats/)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.collector import RunCollector
from crawlers.middlewares import PrivateHostRefused
from crawlers.normalise.dates import DateReading
from crawlers.normalise.urls import canonicalise
from crawlers.secrets import MissingSecret, Secrets, install_log_mask
from search_api.domain.sources import source_formats

DEFAULT_MAX_PAGES = 100


def failure_message(exc: BaseException | None, max_page_bytes: int) -> str:
    """Why a request failed, for people: the HTTP status, the politeness rule or the limit
    that stopped it, else the exception."""
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if isinstance(exc, PrivateHostRefused):
        return str(exc)
    if type(exc).__name__ == "IgnoreRequest" and "robots" in str(exc).lower():
        return "disallowed by robots.txt"
    if isinstance(exc, DownloadCancelledError) and (
        not str(exc) or "download max size" in str(exc)
    ):
        # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE without saying why, and one
        # that announces its size with the request's repr (long, and not for people).
        return f"download cancelled: larger than the page size limit of {max_page_bytes} bytes"
    return f"{type(exc).__name__}: {exc}".strip()


class SourceSpider(scrapy.Spider):
    """Crawls one source; its format's `parse(response, spider)` reads each page."""

    name = "source"

    def __init__(self, collector: RunCollector, **kwargs: Any) -> None:
        super().__init__(name=collector.spec.id, **kwargs)
        self.collector = collector
        self.spec = collector.spec
        self.format = source_formats()[self.spec.format]
        # How the source writes its dates, for every page its format reads.
        self.dates = DateReading.of(self.spec)
        follow = self.spec.follow
        self.max_pages = follow.max_pages if follow else DEFAULT_MAX_PAGES
        self._allow = [re.compile(p) for p in (follow.allow if follow else [])]
        self._deny = [re.compile(p) for p in (follow.deny if follow else [])]
        self._hosts = {urlsplit(u).hostname for u in self.spec.start_urls}
        self._scheduled: set[str] = set()
        self.secrets = Secrets()
        collector.mask = self.secrets.mask
        install_log_mask(self.secrets)

    async def start(self) -> AsyncIterator[Any]:
        start_requests = self.format.start_requests
        for url in self.spec.start_urls:
            try:
                if start_requests is not None:
                    requests = list(start_requests(url, self))
                else:
                    requests = [self.page_request(self.secrets.resolve(url))]
            except MissingSecret as exc:
                self.collector.add_error(url, str(exc))
                self.collector.missing_secret = exc.name
                continue
            for request in requests:
                if request is not None:
                    yield request

    def extra_request(self, url: str, callback: Any, errback: Any) -> scrapy.Request:
        """A request outside the page budget with its own callbacks (an item's detail page)."""
        # The item's page may be a page already crawled as a list page: no dedup.
        return scrapy.Request(url, callback=callback, errback=errback, dont_filter=True)

    def is_text(self, response: Response) -> bool:
        return isinstance(response, TextResponse)

    def content_type(self, response: Response) -> str:
        """The response's Content-Type as sent ("" when none)."""
        return (response.headers.get("Content-Type") or b"").decode("latin-1")

    def allowed(self, url: str) -> bool:
        return any(p.search(url) for p in self._allow)

    def denied(self, url: str) -> bool:
        return any(p.search(url) for p in self._deny)

    def report_failure(self, failure: Failure) -> None:
        """Record a failed request on the run, as for the source's own pages."""
        self._errback(failure)

    def page_request(
        self,
        url: str,
        priority: int = 0,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        meta: dict[str, Any] | None = None,
    ) -> scrapy.Request | None:
        """A request for a page of the source, read by its format; None when it was requested
        already or the page budget (`follow.max_pages`) is spent. API formats give a method,
        headers and a body (a POST search, the next page of a paginated API); robots.txt, the
        SSRF guard and the politeness settings apply to these requests as to any other."""
        key = canonicalise(url) or url
        if method != "GET" or body:
            # Two POSTs to one URL with different bodies are two pages (page 1, page 2).
            key += f" {method} " + hashlib.sha256(body or b"").hexdigest()
        if key in self._scheduled:
            return None
        if len(self._scheduled) >= self.max_pages:
            self.collector.truncated = True
            return None
        self._scheduled.add(key)
        # `_scheduled` dedups our requests; Scrapy's dupefilter would also silently drop a
        # redirect back to an already requested URL (a redirect loop), leaving no error.
        return scrapy.Request(
            url,
            method=method,
            headers=dict(headers or {}),
            body=body,
            meta=meta or {},
            callback=self._parse_source_page,
            errback=self._errback,
            dont_filter=True,
            priority=priority,
        )

    def _parse_source_page(self, response: Response) -> Iterable[Any]:
        self.collector.pages += 1
        try:
            yield from self.parse_page(response)
        except Exception as exc:
            self.logger.exception("failed to parse %s", response.url)
            self.collector.add_error(response.url, f"parse failed: {type(exc).__name__}: {exc}")

    def parse_page(self, response: Response) -> Iterable[Any]:
        return self.format.parse(response, self)

    def follow_links(
        self, response: Response, next_url: str | None, links: list[str] | None = None
    ) -> Iterable[scrapy.Request]:
        """rel=next pagination always; other links only when they match `follow.allow`.

        `links` are the page's absolute hrefs when the extractor has them already."""
        candidates: list[str] = [next_url] if next_url else []
        if self._allow:
            if links is not None:
                candidates += links
            elif hasattr(response, "css"):
                candidates += [response.urljoin(h) for h in response.css("a::attr(href)").getall()]
        for url in candidates:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.hostname not in self._hosts:
                continue
            if url != next_url and not self.allowed(url):
                continue
            if self.denied(url):
                continue
            # The next list page goes ahead of the detail pages it links to: fetched last, it
            # would leave the downloader with one request in flight at the end of every list
            # page (3-4x slower on a paginated calendar, bench/crawl.py).
            request = self.page_request(url, priority=1 if url == next_url else 0)
            if request is not None:
                yield request

    def closed(self, reason: str) -> None:
        """A run cut short by a limit keeps what it got, but says so on the run."""
        limits = {
            "closespider_timeout": "the time limit of {} s (TRADEPOINT_CRAWL_TIMEOUT)",
            "closespider_pagecount": "the limit of {} pages (TRADEPOINT_CRAWL_MAX_PAGES)",
        }
        if reason in limits:
            self.collector.truncated = True
            setting = "CLOSESPIDER_" + reason.removeprefix("closespider_").upper()
            limit = limits[reason].format(self.settings.getint(setting))
            self.collector.add_error(
                self.spec.start_urls[0], f"crawl stopped at {limit}; later pages were not fetched"
            )

    def _errback(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        message = failure_message(failure.value, self.settings.getint("DOWNLOAD_MAXSIZE"))
        redirects = request.meta.get("redirect_urls") if request is not None else None
        if redirects:
            # Report the URL the source links to; the chain ends where the error happened.
            message = f"{message} (after {len(redirects)} redirects, at {url})"
            url = redirects[0]
        self.collector.add_error(url, message)
