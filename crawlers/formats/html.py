"""`html`: HTML pages read with a source's CSS/XPath `selectors`, one record per `item`.

With `selectors.detail`, each item's own page (its `url` field) is fetched and those fields are
read there; a detail page that fails leaves the item with what the list page said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from crawlers.extract.fields import coerce_fields
from crawlers.extract.html_selectors import extract_items, read_detail, select_values
from crawlers.normalise.urls import canonicalise
from search_api.domain.sources import RECORD_FIELD_MAP, STORED, SourceFormat, SourceSpec

if TYPE_CHECKING:
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from crawlers.spiders.base import SourceSpider


class SelectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(description="CSS or XPath selecting each item (one record) on a page")
    fields: dict[str, str] = Field(
        description="record field -> selector inside the item (::text, ::attr(href))",
        json_schema_extra=RECORD_FIELD_MAP,
    )
    next: str | None = Field(None, description="selector of the next page's link")
    detail: dict[str, str] | None = Field(
        None,
        description="record field -> selector on the item's own page (its url field)",
        json_schema_extra=RECORD_FIELD_MAP,
    )

    @model_validator(mode="after")
    def _compiles(self, info: ValidationInfo) -> SelectorSpec:
        # A selector that does not compile is refused when the source is saved, naming it,
        # not at every crawl: parsel (cssselect / lxml) compiles it on an empty page. A source
        # read back from the store was checked when saved (and is read on every page that
        # names sources: ~40 µs a source).
        if (info.context or {}).get(STORED):
            return self
        empty = Selector(text="<html></html>")
        named = [("item", self.item), ("next", self.next)]
        named += [(f"fields.{k}", v) for k, v in self.fields.items()]
        named += [(f"detail.{k}", v) for k, v in (self.detail or {}).items()]
        for name, expr in named:
            if expr is None:
                continue
            try:
                select_values(empty, expr, relative=name != "item")
            except ValueError as exc:
                raise ValueError(
                    f"{name}: {expr!r} is not a valid CSS or XPath selector ({exc})"
                ) from None
        return self


class HtmlSource(SourceSpec):
    format: Literal["html"] = "html"
    selectors: SelectorSpec

    @model_validator(mode="before")
    @classmethod
    def _needs_selectors(cls, data: Any) -> Any:
        # Said with what they are for, rather than pydantic's bare "Field required".
        if isinstance(data, dict) and not data.get("selectors"):
            raise ValueError("format 'html' needs 'selectors' (item and fields)")
        return data


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    spec = spider.spec
    assert isinstance(spec, HtmlSource)
    selectors = spec.selectors
    if not spider.is_text(response):
        content_type = spider.content_type(response) or "?"
        spider.collector.add_error(response.url, f"not an HTML page ({content_type})")
        return
    result = extract_items(
        response.text, response.url, selectors.item, selectors.fields, selectors.next
    )
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    shared = Counter(_first(raw.get("url")) for raw in result.items)
    for raw in result.items:
        url = _first(raw.get("url"))
        # An item with a page of its own is that page; items sharing a link (or having none)
        # are told apart by what they say.
        if url and shared[url] == 1:
            key = canonicalise(url) or url
        else:
            key = "|".join(_first(raw.get(name)) or "" for name in ("url", "title", "start_date"))
        detail_url = canonicalise(url) if url else None
        if selectors.detail and detail_url:
            pending = _Pending(spider, raw, key, response.url, result.language)
            yield spider.extra_request(detail_url, callback=pending.detail, errback=pending.failed)
        else:
            yield _item(spider, raw, key, response.url, response.url, result.language)
    yield from spider.follow_links(response, result.next_url)


def _item(
    spider: SourceSpider,
    raw: dict[str, list[str]],
    key: str,
    page: str,
    base: str,
    page_language: str | None,
) -> dict[str, Any]:
    spec = spider.spec
    coerced = coerce_fields(raw, spec.kind, base_url=base, reading=spider.dates)
    what = _first(raw.get("title")) or key
    for problem in coerced.problems:
        spider.collector.add_error(page, f"{what}: {problem}")
    values = dict(coerced.values)
    # A `language` field names the item's own language; the page's is only the default.
    if not values.get("language") and page_language:
        values["language"] = page_language
    return {**values, "_key": key, "_page": page, "unmapped": coerced.unmapped}


@dataclass
class _Pending:
    """An item of a list page waiting for its detail page."""

    spider: SourceSpider
    raw: dict[str, list[str]]
    key: str
    list_page: str
    language: str | None

    def detail(self, response: Response) -> Iterable[Any]:
        spider = self.spider
        spider.collector.pages += 1
        spec = spider.spec
        detail = spec.selectors.detail if isinstance(spec, HtmlSource) else None
        if not spider.is_text(response) or not detail:
            spider.collector.add_error(response.url, "detail page is not an HTML page")
            yield self.from_list_page()
            return
        found = read_detail(response.text, response.url, detail)
        for message in found.errors:
            spider.collector.add_error(response.url, message)
        # The item's own page is the fuller account: its values (and language) win.
        yield _item(
            spider,
            {**self.raw, **found.values},
            self.key,
            response.url,
            response.url,
            found.language or self.language,
        )

    def failed(self, failure: Failure) -> Iterable[Any]:
        self.spider.report_failure(failure)
        yield self.from_list_page()

    def from_list_page(self) -> dict[str, Any]:
        return _item(self.spider, self.raw, self.key, self.list_page, self.list_page, self.language)


FORMAT = SourceFormat(
    name="html",
    source=HtmlSource,
    parse=parse,
    reads="`selectors`: one record per `item`; `fields` map record fields to CSS (`::text`, "
    "`::attr(x)`; an element gives its whole text) or XPath (starting with `/` or `(`, read "
    "inside the item); `next` paginates; `detail` reads more fields on each item's `url` page. "
    'Lists in a cell ("Kenya, Uganda and Tanzania") are split; relative URLs resolved.',
)
