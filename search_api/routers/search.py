"""JSON search endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from search_api.deps import (
    AnswerLanguage,
    StoreDep,
    answer_language,
    language_headers,
    search_request,
)
from search_api.routers.params import SEARCH_OPENAPI
from search_api.search.base import FacetValue, SearchBackend
from search_api.search.cache import GZIP_MIN_BYTES, Answer, answer_cache
from search_api.search.request import SearchRequest
from search_api.search.shared import SharedAnswers, fetch_shared
from search_api.services import search as searching
from search_api.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["search"])


class Notice(BaseModel):
    code: str
    field: str
    message: str
    language: str | None = None
    languages: list[str] = []


class SearchResponse(BaseModel):
    total: int
    page: int
    size: int
    items: list[dict[str, Any]]
    facets: dict[str, list[FacetValue]]
    notices: list[Notice] = Field(
        [], description="Why an answer may be empty, e.g. no record in the asked language."
    )


def _searcher_pool(state: Any) -> ThreadPoolExecutor:
    # One search thread per API process by default: a search is CPU-bound, so more threads
    # than cores only add switching (measured: 40 threads per worker lost 16% throughput).
    pool: ThreadPoolExecutor | None = getattr(state, "search_pool", None)
    if pool is None:
        pool = state.search_pool = ThreadPoolExecutor(
            max_workers=state.settings.search_threads, thread_name_prefix="search"
        )
    return pool


def _http(request: Request, answer: Answer, lang: str) -> Response:
    headers = {"ETag": answer.etag, "Cache-Control": "no-cache", **language_headers(lang)}
    if answer.matches(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    body = answer.body
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = answer.gzipped()
        # GZipMiddleware adds Vary to what it compresses, not to what arrives compressed.
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Language, Accept-Encoding"})
    return Response(body, media_type="application/json", headers=headers)


async def _answer(request: Request, adjust: Callable[[SearchRequest], SearchRequest]) -> Response:
    """Search, or reuse the answer to the same request on the same index state.

    The key is the request's path and raw query string, the day (/fairs means "from today")
    and the answer's language (Accept-Language negotiated: its sentences are in it, and so is
    its ETag). The ETag lets a client on a slow line revalidate without downloading the
    answer again. The backend and settings are read from the app state rather than declared as
    dependencies: FastAPI's dependency solving was half the cost of an answer from the cache.
    """
    state = request.app.state
    backend: SearchBackend = state.backend
    settings: Settings = state.settings
    cache = answer_cache(backend, settings.search_cache_size)
    lang = answer_language(request)
    key = (request.scope["path"], request.scope["query_string"], date.today().toordinal(), lang)
    answer = cache.get(key) if cache is not None else None
    if answer is None:
        query = adjust(search_request(request)).to_query()
        shared: SharedAnswers | None = state.shared_answers if cache is not None else None
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(
            _searcher_pool(state),
            fetch_shared,
            shared,
            backend,
            ("answer", *key),
            # the answer another worker made on this index state, or this one's
            lambda: searching.encoded(backend, query, lang),
        )
        answer = Answer.of(body, lang)
        if cache is not None:
            cache.put(key, answer)
    return _http(request, answer, lang)


# `async def`: an answer from the cache is served on the event loop (a worker thread hop would
# cost as much as the answer); a search runs on the process's search thread(s), where tantivy
# releases the GIL, so one slow search (tens of ms over a million records) does not hold up
# the answers from the cache queued behind it.
@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Search all records",
    openapi_extra=SEARCH_OPENAPI,
)
async def search(request: Request) -> Response:
    return await _answer(request, lambda search: search)


def _upcoming_fairs(search: SearchRequest) -> SearchRequest:
    # Upcoming by default: a fair still running today counts as upcoming.
    date_from = search.date_from or (None if search.date_to else date.today())
    return search.replace(kind=("fair",), date_from=date_from, sort=search.sort or "date")


@router.get(
    "/fairs",
    response_model=SearchResponse,
    summary="Fairs, upcoming first",
    openapi_extra=SEARCH_OPENAPI,
)
async def fairs(request: Request) -> Response:
    return await _answer(request, _upcoming_fairs)


@router.get("/records/{record_id}", summary="One record with its provenance")
def get_record(record_id: str, store: StoreDep, lang: AnswerLanguage) -> dict[str, Any]:
    return searching.record_view(store, searching.get_record(store, record_id), lang)
