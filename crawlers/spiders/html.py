"""HTML pages read with a source's CSS/XPath `selectors`: one record per `item`.

With `selectors.detail`, each item's own page (its `url` field) is fetched and those fields are
read there; a detail page that fails leaves the item with what the list page said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawlers.extract.fields import coerce_fields
from crawlers.extract.html_selectors import extract_items, read_detail
from crawlers.normalise.urls import canonicalise
from crawlers.spiders.base import SourceSpider


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


class HtmlSpider(SourceSpider):
    name = "html"

    def parse_page(self, response: Response) -> Iterable[Any]:
        selectors = self.spec.selectors
        if selectors is None:  # the source model refuses this; a hand-edited store might not
            self.collector.add_error(response.url, "format 'html' needs selectors")
            return
        if not isinstance(response, TextResponse):
            content_type = response.headers.get("Content-Type", b"?").decode("latin-1")
            self.collector.add_error(response.url, f"not an HTML page ({content_type})")
            return
        result = extract_items(
            response.text, response.url, selectors.item, selectors.fields, selectors.next
        )
        for message in result.errors:
            self.collector.add_error(response.url, message)
        shared = Counter(_first(raw.get("url")) for raw in result.items)
        for raw in result.items:
            url = _first(raw.get("url"))
            # An item with a page of its own is that page; items sharing a link (or having
            # none) are told apart by what they say.
            if url and shared[url] == 1:
                key = canonicalise(url) or url
            else:
                key = "|".join(
                    _first(raw.get(name)) or "" for name in ("url", "title", "start_date")
                )
            detail_url = canonicalise(url) if url else None
            if selectors.detail and detail_url:
                yield scrapy.Request(
                    detail_url,
                    callback=self._parse_detail,
                    errback=self._detail_failed,
                    cb_kwargs={
                        "raw": raw,
                        "key": key,
                        "list_page": response.url,
                        "language": result.language,
                    },
                    # the item's page may be a page already crawled as a list page
                    dont_filter=True,
                )
            else:
                yield self._item(raw, key, response.url, response.url, result.language)
        yield from self.follow_links(response, result.next_url)

    def _item(
        self,
        raw: dict[str, list[str]],
        key: str,
        page: str,
        base: str,
        page_language: str | None,
    ) -> dict[str, Any]:
        coerced = coerce_fields(raw, self.spec.kind, base_url=base)
        what = _first(raw.get("title")) or key
        for problem in coerced.problems:
            self.collector.add_error(page, f"{what}: {problem}")
        values = dict(coerced.values)
        # A `language` field names the item's own language; the page's is only the default.
        if not values.get("language") and page_language:
            values["language"] = page_language
        return {**values, "_key": key, "_page": page, "unmapped": coerced.unmapped}

    def _parse_detail(
        self,
        response: Response,
        raw: dict[str, list[str]],
        key: str,
        list_page: str,
        language: str | None,
    ) -> Iterable[Any]:
        self.collector.pages += 1
        detail = self.spec.selectors.detail if self.spec.selectors else None
        if not isinstance(response, TextResponse) or not detail:
            self.collector.add_error(response.url, "detail page is not an HTML page")
            yield self._item(raw, key, list_page, list_page, language)
            return
        found = read_detail(response.text, response.url, detail)
        for message in found.errors:
            self.collector.add_error(response.url, message)
        # The item's own page is the fuller account: its values (and language) win over the
        # list's.
        yield self._item(
            {**raw, **found.values}, key, response.url, response.url, found.language or language
        )

    def _detail_failed(self, failure: Failure) -> Iterable[Any]:
        self._errback(failure)
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        yield self._item(
            kwargs["raw"],
            kwargs["key"],
            kwargs["list_page"],
            kwargs["list_page"],
            kwargs["language"],
        )
