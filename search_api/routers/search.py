"""JSON search endpoints."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from search_api import service
from search_api.deps import get_store
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


def _searcher_pool(state: Any) -> ThreadPoolExecutor:
    # One search thread per API process by default: a search is CPU-bound, so more threads
    # than cores only add switching (measured: 40 threads per worker lost 16% throughput).
    pool = getattr(state, "search_pool", None)
    if pool is None:
        pool = state.search_pool = ThreadPoolExecutor(
            max_workers=state.settings.search_threads, thread_name_prefix="search"
        )
    return pool


def _search_encoded(backend: SearchBackend, query: SearchQuery) -> bytes:
    return _encode(query, service.search(backend, query))


_MEMO_KEY = "search-responses"
_GZIP_MIN_BYTES = 1000  # as the app's GZipMiddleware


@dataclass(slots=True)
class _Answer:
    body: bytes
    etag: str
    gzipped: bytes | None = None

    def response(self, request: Request) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": "no-cache"}
        if_none_match = request.headers.get("if-none-match", "")
        if self.etag in if_none_match or if_none_match.strip() == "*":
            return Response(status_code=304, headers=headers)
        body = self.body
        if len(body) >= _GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
            # Compressed once per answer, not once per request (GZipMiddleware passes an
            # already encoded response through).
            if self.gzipped is None:
                self.gzipped = gzip.compress(body, compresslevel=6, mtime=0)
            body = self.gzipped
            # GZipMiddleware adds Vary to what it compresses, not to what arrives compressed.
            headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(body, media_type="application/json", headers=headers)


class _Answers:
    """Answers by request, least recently used out first, bounded in number and in bytes."""

    MAX_BYTES = 64 * 1024 * 1024  # a page of 100 long items is ~200 kB

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, bytes, int], _Answer] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, bytes, int]) -> _Answer | None:
        answer = self._items.get(key)
        if answer is not None:
            self._items.move_to_end(key)
        return answer

    def put(self, key: tuple[str, bytes, int], answer: _Answer, max_items: int) -> None:
        if key in self._items:
            return
        self._items[key] = answer
        self._bytes += len(answer.body)
        while self._items and (len(self._items) > max_items or self._bytes > self.MAX_BYTES):
            _, old = self._items.popitem(last=False)
            self._bytes -= len(old.body)


async def _answer(request: Request, adjust: Callable[[SearchParams], SearchParams]) -> Response:
    """Search, or reuse the answer to the same request on the same index state.

    Popular searches (a market's fairs, a product's rules) repeat far more often than the index
    changes, and a search costs 10-50x the framework's own work per request. Answers live in
    the backend's memo, which is replaced whenever a change becomes visible, so an answer is
    never staler than a fresh search would be; the key is the request's path and raw query
    string (and the day: /fairs means "from today"). The ETag lets a client on a slow line
    revalidate without downloading the answer again.

    The backend and settings are read from the app state rather than declared as
    dependencies: FastAPI's dependency solving was half the cost of an answer from the memo.
    """
    state = request.app.state
    backend: SearchBackend = state.backend
    settings: Settings = state.settings
    memo = backend.memo() if settings.search_cache_size > 0 else None
    key = (request.scope["path"], request.scope["query_string"], date.today().toordinal())
    cache: _Answers | None = None
    answer = None
    if memo is not None:
        cache = memo.setdefault(_MEMO_KEY, _Answers())
        answer = cache.get(key)
    if answer is None:
        query = service.build_query(adjust(await search_params(request)))
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(_searcher_pool(state), _search_encoded, backend, query)
        answer = _Answer(body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"')
        if cache is not None:
            cache.put(key, answer, settings.search_cache_size)
    return answer.response(request)


# `async def`: an answer from the memo is served on the event loop (a worker thread hop would
# cost as much as the answer); a search runs on the process's search thread(s), where tantivy
# releases the GIL, so one slow search (tens of ms over a million records) does not hold up
# the answers from the memo queued behind it.
@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Search all records",
    openapi_extra=SEARCH_OPENAPI,
)
async def search(request: Request) -> Response:
    return await _answer(request, lambda params: params)


def _upcoming_fairs(params: SearchParams) -> SearchParams:
    # Upcoming by default: a fair still running today counts as upcoming.
    date_from = params.date_from or (None if params.date_to else date.today())
    return replace(params, kind=("fair",), date_from=date_from, sort=params.sort or "date")


@router.get(
    "/fairs",
    response_model=SearchResponse,
    summary="Fairs, upcoming first",
    openapi_extra=SEARCH_OPENAPI,
)
async def fairs(request: Request) -> Response:
    return await _answer(request, _upcoming_fairs)


@router.get("/records/{record_id}", summary="One record with its provenance")
def get_record(record_id: str, store: Annotated[Store, Depends(get_store)]) -> dict[str, Any]:
    return service.get_record(store, record_id).model_dump(mode="json")
