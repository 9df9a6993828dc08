"""JSON search endpoints."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from search_api import service
from search_api.deps import get_backend, get_settings, get_store
from search_api.routers.params import SEARCH_OPENAPI, search_params
from search_api.search.base import FacetValue, SearchBackend, SearchQuery, SearchResult
from search_api.service import SearchParams
from search_api.settings import Settings
from search_api.store import Store

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchResponse(BaseModel):
    total: int
    page: int
    size: int
    items: list[dict[str, Any]]
    facets: dict[str, list[FacetValue]]


def _encode(query: SearchQuery, result: SearchResult) -> bytes:
    # The backend's items are already plain JSON values: serialise them directly instead of
    # validating them again through the response model (the search hot path).
    payload = {
        "total": result.total,
        "page": query.page,
        "size": query.size,
        "items": result.items,
        "facets": {k: [f.model_dump() for f in v] for k, v in result.facets.items()},
    }
    return orjson.dumps(payload)


_MEMO_KEY = "search-responses"


def _respond(
    request: Request, backend: SearchBackend, settings: Settings, query: SearchQuery
) -> Response:
    """Search, or reuse the encoded answer to the same query on the same index state.

    Popular searches (a market's fairs, a product's rules) repeat far more often than the index
    changes, and an answer costs ~10x the framework's own work per request. Entries live in the
    backend's memo, which is replaced whenever a change becomes visible, so an answer is never
    staler than a fresh search would be. The ETag lets a client on a slow line revalidate
    without downloading the answer again."""
    memo = backend.memo() if settings.search_cache_size > 0 else None
    cache: OrderedDict[str, tuple[bytes, str]] | None = None
    key = query.model_dump_json()
    entry = None
    if memo is not None:
        cache = memo.setdefault(_MEMO_KEY, OrderedDict())
        entry = cache.get(key)
        if entry is not None:
            cache.move_to_end(key)
    if entry is None:
        body = _encode(query, service.search(backend, query))
        entry = (body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"')
        if cache is not None:
            cache[key] = entry
            while len(cache) > settings.search_cache_size:
                cache.popitem(last=False)
    body, etag = entry
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in if_none_match or if_none_match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


# `async def`: the search is short and CPU-bound; running it on the event loop avoids a worker
# thread hop per request, which costs more than the search itself at high request rates.
@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Search all records",
    openapi_extra=SEARCH_OPENAPI,
)
async def search(
    request: Request,
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    return _respond(request, backend, settings, service.build_query(params))


@router.get(
    "/fairs",
    response_model=SearchResponse,
    summary="Fairs, upcoming first",
    openapi_extra=SEARCH_OPENAPI,
)
async def fairs(
    request: Request,
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    # Upcoming by default: a fair still running today counts as upcoming.
    date_from = params.date_from or (None if params.date_to else date.today())
    params = SearchParams(
        **{
            **params.__dict__,
            "kind": ("fair",),
            "date_from": date_from,
            "sort": params.sort or "date",
        }
    )
    return _respond(request, backend, settings, service.build_query(params))


@router.get("/records/{record_id}", summary="One record with its provenance")
def get_record(record_id: str, store: Annotated[Store, Depends(get_store)]) -> dict[str, Any]:
    return service.get_record(store, record_id).model_dump(mode="json")
