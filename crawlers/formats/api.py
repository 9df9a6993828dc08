"""`api`: JSON APIs, one record per item of the response, fields read with JMESPath.

A source says how to ask (method, query parameters, headers, a JSON body for APIs that only
take POST, secrets as `${NAME}`), where the records are (`api.records`), what each field is
(`api.fields`, JMESPath per field), and how to page (a next link in the body, a page or offset
parameter until an empty page, or a cursor), bounded by `api.paginate.max_pages`. JSON:API
responses are joined (crawlers/extract/api.py). Nothing here knows any publisher.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from crawlers.extract.api import evaluate, expression_problem, read_api_page, record_view
from crawlers.extract.fields import LIST_FIELDS, coerce_fields
from crawlers.normalise.urls import canonicalise
from search_api.domain.sources import (
    RECORD_FIELD_MAP,
    SourceFormat,
    SourceSpec,
    source_field_names,
)

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider

ParamValue = str | int | float | bool | list[str | int | float]
MAX_API_PAGES = 10_000


class PaginateSpec(BaseModel):
    """How to reach the next page. One of: `next` (a JMESPath to the next page's URL in the
    body), `param` alone (a page number or offset, raised by `step` until a page has no
    records), or `param` with `cursor` (a JMESPath to the next cursor in the body)."""

    model_config = ConfigDict(extra="forbid")
    next: str | None = Field(None, description="JMESPath to the next page's URL in the body")
    param: str | None = Field(None, description="query (or body) parameter of the page/offset")
    start: int = Field(1, ge=0, description="first page number or offset")
    step: int = Field(1, ge=1, description="1 for page numbers; the page size for offsets")
    cursor: str | None = Field(None, description="JMESPath to the next cursor in the body")
    location: Literal["query", "body"] = Field(
        "query", description="where `param` goes: the query string, or the JSON body (POST)"
    )
    max_pages: int = Field(50, ge=1, le=MAX_API_PAGES, description="most pages per start URL")

    @model_validator(mode="after")
    def _one_way(self) -> PaginateSpec:
        if self.next and self.param:
            raise ValueError("give either `next` (a link in the body) or `param`, not both")
        if not self.next and not self.param:
            raise ValueError("give `next` (a link in the body) or `param` (page, offset, cursor)")
        if self.cursor and not self.param:
            raise ValueError("`cursor` needs `param`, the parameter that carries it")
        for name in ("next", "cursor"):
            expression = getattr(self, name)
            problem = expression and expression_problem(expression)
            if problem:
                raise ValueError(f"{name}: {problem}")
        return self


class ApiSpec(BaseModel):
    """How a JSON API is asked and read."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        description="query parameters added to every start URL (a list repeats the parameter)",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="request headers; `${NAME}` reads a secret"
    )
    body: dict[str, Any] | None = Field(None, description="JSON body (POST)")
    records: str | None = Field(
        None,
        description="JMESPath to the list of records (default: the response if it is a list, "
        "else its only list)",
    )
    fields: dict[str, str] = Field(
        description="record field -> JMESPath into one record (the whole response is `_root`)",
        json_schema_extra=RECORD_FIELD_MAP,
    )
    key: str | None = Field(
        None, description="JMESPath to a record's stable natural key (default: its url, title)"
    )
    values: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="field -> {value as the API gives it: value for the record}; other values "
        "pass unchanged, unless `*` gives the value for any other (null: leave it out)",
    )
    newest: str | None = Field(
        None,
        description="JMESPath ranking records that share a key (a notification and its "
        "addenda): the higher one's values win",
    )
    jsonapi: bool | None = Field(
        None, description="join JSON:API `included` resources (default: when the response has)"
    )
    paginate: PaginateSpec | None = None

    @field_validator("records", "key", "newest")
    @classmethod
    def _expression(cls, v: str | None) -> str | None:
        problem = v and expression_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("fields")
    @classmethod
    def _field_expressions(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("map at least the title: {title: <JMESPath>}")
        for name, expression in v.items():
            problem = expression_problem(expression)
            if problem:
                raise ValueError(f"{name}: {problem}")
        return v

    @model_validator(mode="after")
    def _body_needs_post(self) -> ApiSpec:
        if self.body is not None and self.method != "POST":
            raise ValueError("a `body` is sent with method POST")
        if self.paginate and self.paginate.location == "body" and self.method != "POST":
            raise ValueError("paginate.location 'body' needs method POST")
        return self


class ApiSource(SourceSpec):
    format: Literal["api"] = "api"
    api: ApiSpec

    @model_validator(mode="before")
    @classmethod
    def _needs_api(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("api"):
            raise ValueError("format 'api' needs 'api' (at least fields: {title: <JMESPath>})")
        return data

    @field_validator("api")
    @classmethod
    def _fields_are_fields(cls, v: ApiSpec, info: ValidationInfo) -> ApiSpec:
        kind = info.data.get("kind")
        if kind is not None:
            known = source_field_names(kind)
            for name in [*v.fields, *v.values]:
                if name not in known:
                    raise ValueError(f"{name!r} is not a field of {kind} records")
        return v


# --------------------------------------------------------------------------- requests


def _with_params(url: str, params: Mapping[str, Any]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for name, value in params.items():
        query = [(k, v) for k, v in query if k != name]
        values = value if isinstance(value, list) else [value]
        query += [(name, _param_text(v)) for v in values]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _request(
    spider: SourceSpider,
    url: str,
    page_state: dict[str, Any],
    extra_params: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> Request | None:
    """A request of the source's API with its secrets resolved (MissingSecret when unset)."""
    spec = spider.spec
    assert isinstance(spec, ApiSource)
    options = spec.api
    resolve = spider.secrets.resolve
    params = {**options.params, **(extra_params or {})}
    full_url = _with_params(resolve(url), resolve(params))
    headers = {"Accept": "application/json", **resolve(options.headers)}
    body: bytes | None = None
    if options.method == "POST":
        payload = {**resolve(options.body or {}), **(extra_body or {})}
        body = json.dumps(payload).encode()
        headers.setdefault("Content-Type", "application/json")
    return spider.page_request(
        full_url,
        method=options.method,
        headers=headers,
        body=body,
        meta={"api": page_state},
    )


def start_requests(url: str, spider: SourceSpider) -> Iterable[Request | None]:
    spec = spider.spec
    assert isinstance(spec, ApiSource)
    paginate = spec.api.paginate
    state = {"start_url": url, "page": 1, "value": None}
    if paginate and paginate.param and not paginate.cursor:
        state["value"] = paginate.start
        yield _paged_request(spider, state, paginate.start)
    else:
        yield _request(spider, url, state)


def _paged_request(spider: SourceSpider, state: dict[str, Any], value: Any) -> Request | None:
    spec = spider.spec
    assert isinstance(spec, ApiSource)
    paginate = spec.api.paginate
    assert paginate is not None and paginate.param
    extra = {paginate.param: value}
    if paginate.location == "body":
        return _request(spider, state["start_url"], state, extra_body=extra)
    return _request(spider, state["start_url"], state, extra_params=extra)


def _next_requests(
    response: Response, spider: SourceSpider, document: Any, count: int
) -> Iterable[Request | None]:
    spec = spider.spec
    assert isinstance(spec, ApiSource)
    paginate = spec.api.paginate
    state = dict(response.meta.get("api") or {})
    if paginate is None or not state:
        return
    if state["page"] >= paginate.max_pages:
        # The run's message says it stopped at a page limit (and withdraws nothing).
        # (never cleared: another start URL or the page budget may have set it already)
        if count:
            spider.collector.truncated = True
        return
    state["page"] += 1
    try:
        if paginate.next:
            link = evaluate(paginate.next, document)
            if isinstance(link, str) and link.strip() and count:
                # The request keeps the source's headers; its URL is the API's own next link.
                url = canonicalise(link, response.url)
                if url and urlsplit(url).hostname in spider._hosts:
                    yield _request(spider, url, state)
                elif url:
                    # the source's headers carry its keys: never to a host it did not name
                    spider.logger.error("next link %s leaves the source's hosts: not followed", url)
        elif paginate.cursor:
            cursor = evaluate(paginate.cursor, document)
            if cursor not in (None, "", []) and count and cursor != state.get("value"):
                state["value"] = cursor
                yield _paged_request(spider, state, cursor)
        elif count:  # a page or an offset parameter: on until a page has no records
            state["value"] = state["value"] + paginate.step
            yield _paged_request(spider, state, state["value"])
    except ValueError as exc:
        spider.collector.add_error(response.url, f"paginate: {exc}")


# --------------------------------------------------------------------------- records


def _mapped(name: str, raw: Any, table: Mapping[str, Any]) -> Any:
    """`raw` through a source's value map, lists element by element (None drops a value)."""
    if isinstance(raw, list):
        out: list[Any] = []
        for item in raw:
            value = _mapped(name, item, table)
            for v in value if isinstance(value, list) else [value]:
                if v is not None and v not in out:
                    out.append(v)
        return out or None
    if raw is None:
        return None
    text = str(raw).strip() if not isinstance(raw, bool) else str(raw).lower()
    if text in table:
        return table[text]
    return table.get("*", raw)


def _first_mapped(name: str, raw: Any, table: Mapping[str, Any]) -> Any:
    value = _mapped(name, raw, table)
    return value[0] if isinstance(value, list) and value else value


def _raw_fields(record: Any, document: Any, spec: ApiSource) -> tuple[dict[str, Any], list[str]]:
    view = record_view(record, document)
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for name, expression in spec.api.fields.items():
        try:
            value = evaluate(expression, view)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        table = spec.api.values.get(name)
        if table is not None:
            value = (_mapped if name in LIST_FIELDS else _first_mapped)(name, value, table)
        raw[name] = value
    return raw, problems


def _key(record: Any, document: Any, spec: ApiSource, values: Mapping[str, Any]) -> str:
    if spec.api.key:
        try:
            key = evaluate(spec.api.key, record_view(record, document))
        except ValueError:
            key = None
        if key not in (None, "", []):
            return f"key:{key}"
    parts = ("url", "title", "start_date", "published_date")
    return "|".join(str(values.get(p) or "") for p in parts)


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    spec = spider.spec
    assert isinstance(spec, ApiSource)
    page = read_api_page(response.body, spec.api.records, spec.api.jsonapi)
    for message in page.errors:
        spider.collector.add_error(response.url, message)
    items = []
    for number, record in enumerate(page.records, 1):
        raw, problems = _raw_fields(record, page.document, spec)
        coerced = coerce_fields(
            raw,
            spec.kind,
            base_url=response.url,
            reading=spider.dates,
        )
        label = f"item {number}"
        for problem in problems + coerced.problems:
            spider.collector.add_error(response.url, f"{label}: {problem}")
        if not coerced.values.get("title") and not spec.defaults.get("title"):
            spider.collector.failed += 1
            spider.collector.add_error(response.url, f"{label}: no title; skipped")
            continue
        rank = None
        if spec.api.newest:
            try:
                rank = evaluate(spec.api.newest, record_view(record, page.document))
            except ValueError as exc:
                spider.collector.add_error(response.url, f"{label}: newest: {exc}")
            if isinstance(rank, str):
                # "03/11/2026" ranks as the date it is, not as text
                date = spider.dates.read(rank).date
                rank = date.isoformat() if date else rank
        items.append((coerced, _key(record, page.document, spec, coerced.values), rank))
    for coerced, key, rank in items:
        yield {
            **coerced.values,
            "_key": key,
            "_page": response.url,
            "_rank": rank,
            "unmapped": coerced.unmapped,
        }
    yield from (r for r in _next_requests(response, spider, page.document, len(page.records)) if r)


FORMAT = SourceFormat(
    name="api",
    source=ApiSource,
    parse=parse,
    start_requests=start_requests,
    amends_stored=lambda spec: bool(spec.api.newest),
    reads="JSON APIs: `api.params` (query), `api.headers`, `api.method: POST` with `api.body`; "
    "secrets as `${NAME}` (read from `TRADEPOINT_SECRET_NAME` at crawl time); `api.records` "
    "(JMESPath to the list) and `api.fields` (record field -> JMESPath: `hsCodes[].code`, "
    "`venues[0].country`; the whole response is `_root`); `api.values` maps the API's values "
    "to ours; `api.key` a stable key; `api.newest` ranks records sharing a key; JSON:API "
    "`included` joined by type and id; `api.paginate`: `next` link, `param` page/offset until an "
    "empty page, or `cursor`, up to `max_pages`.",
)
