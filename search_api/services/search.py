"""Searching: what the JSON API, the web pages, feeds and digests all call.

A search arrives as a `SearchRequest` (search/request.py), validated once; these functions run
it and shape what every caller shows the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson

from search_api.domain import markets as mk
from search_api.domain.records import AnyRecord, parse_record
from search_api.errors import NotFound
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.store import Store
from search_api.store.watch import page_watch, watch_view

PAGE_SIZE = 100
"""Records per backend call when a caller reads every match (feeds, market pages)."""


def search(backend: SearchBackend, query: SearchQuery) -> SearchResult:
    """Run a search; with a market filter, each item says why it matched (`matched_market`:
    {"market": asked, "code": the record's market, "via": "direct" | "bloc" | "member"})."""
    result = backend.search(query)
    asked = getattr(query, "asked_markets", ())
    if asked:
        for item in result.items:
            item["matched_market"] = mk.match_reason(item.get("markets") or [], asked)
    return result


def encoded(backend: SearchBackend, query: SearchQuery) -> bytes:
    """The JSON answer of `GET /api/v1/search`, serialised directly: the backend's items are
    plain JSON values already, and validating them again would cost more than the search."""
    result = search(backend, query)
    payload = {
        "total": result.total,
        "page": query.page,
        "size": query.size,
        "items": result.items,
        "facets": {k: [f.model_dump() for f in v] for k, v in result.facets.items()},
    }
    return orjson.dumps(payload)


def upcoming_fairs(
    backend: SearchBackend, today: date, size: int = 20, page: int = 1, **filters: Any
) -> SearchResult:
    query = SearchQuery(
        kind=("fair",), date_from=today, sort="date", size=size, page=page, **filters
    )
    return backend.search(query)


def every_item(backend: SearchBackend, query: SearchQuery, limit: int) -> Iterator[dict[str, Any]]:
    """Every match of `query` (in its order) up to `limit`, paging through the backend."""
    size = min(PAGE_SIZE, limit)
    page, seen = 1, 0
    while seen < limit:
        q = query.model_copy(update={"page": page, "size": size, "facets": False})
        result = backend.search(q)
        for item in result.items[: limit - seen]:
            yield item
            seen += 1
        if not result.items or page * size >= result.total:
            return
        page += 1


def every_record(backend: SearchBackend, query: SearchQuery, limit: int) -> list[AnyRecord]:
    return [parse_record(item) for item in every_item(backend, query, limit)]


def get_record(store: Store, record_id: str) -> AnyRecord:
    record = store.get_record(record_id)
    if record is None:
        raise NotFound(f"record {record_id!r} not found")
    return record


def record_view(store: Store, record: AnyRecord) -> dict[str, Any]:
    """A record as the API and web pages show it: its fields, and what the change watch last
    found on its official page (`official_page`: checked_on, changed_on, similarity; null when
    the page is not watched)."""
    return {
        **record.model_dump(mode="json"),
        "official_page": watch_view(page_watch(store, record.id)),
    }
