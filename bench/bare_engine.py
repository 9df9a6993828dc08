"""The bare engine behind HTTP: the lower bound of what a search endpoint can cost here.

Served exactly like the API (uvicorn, 2 workers, uvloop, httptools; one search thread per
process, as `search_threads` defaults to) by bench/search_latency.py. `GET /bare/search` takes
the search endpoint's parameters, turns them into the same tantivy query (the request model
and the query builder: same hits and facets), and calls tantivy directly: search, stored
documents, facet counts, one JSON encoding. Nothing else of the app: no FastAPI (a plain
Starlette route), no middleware, no answer cache, no facet cache, no reload checks, no
annotations or notices.

    TRADEPOINT_BENCH_INDEX=bench/.data/search-100000/index uvicorn bench.bare_engine:app
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import tantivy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tantivy import Order

from search_api.search.request import SearchRequest
from search_api.search.tantivy.facets import facet_counts
from search_api.search.tantivy.query import build_query
from search_api.search.tantivy.schema import TOKENIZERS


def _searcher() -> tantivy.Searcher:
    root = Path(os.environ["TRADEPOINT_BENCH_INDEX"])
    generation = json.loads((root / "CURRENT").read_text())["generation"]
    index = tantivy.Index.open(str(root / generation))
    for name, analyzer in TOKENIZERS.items():
        index.register_tokenizer(name, analyzer)
    return index.searcher()


SEARCHER = _searcher()
POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
# TRADEPOINT_BENCH_FACET_CACHE=N: keep the facets of the last N queries, as the app's backend
# does (an LRU by query string), to tell the app's own cost from what its facet cache saves.
FACET_CACHE: OrderedDict[bytes, Any] = OrderedDict()
FACET_CACHE_SIZE = int(os.environ.get("TRADEPOINT_BENCH_FACET_CACHE", "0"))


def _facets(key: bytes, tq: tantivy.Query) -> Any:
    if not FACET_CACHE_SIZE:
        return facet_counts(SEARCHER, tq)
    facets = FACET_CACHE.get(key)
    if facets is None:
        facets = FACET_CACHE[key] = facet_counts(SEARCHER, tq)
        if len(FACET_CACHE) > FACET_CACHE_SIZE:
            FACET_CACHE.popitem(last=False)
    else:
        FACET_CACHE.move_to_end(key)
    return facets


def _search(raw: dict[str, list[str]], key: bytes = b"") -> bytes:
    query = SearchRequest.from_query(raw).to_query()
    tq, has_text = build_query(query)
    kwargs: dict[str, Any] = {}
    if query.sort == "date" or (query.sort == "relevance" and not has_text):
        kwargs = {"order_by_field": "sort_asc", "order": Order.Asc}
    elif query.sort == "-date":
        kwargs = {"order_by_field": "sort_desc", "order": Order.Desc}
    result = SEARCHER.search(tq, limit=query.size or 1, count=True, offset=query.offset, **kwargs)
    items = [orjson.loads(SEARCHER.doc(a).get_first("doc") or b"{}") for _, a in result.hits]
    facets = _facets(key, tq) if query.facets else {}
    return orjson.dumps(
        {
            "total": getattr(result, "count", None) or 0,
            "page": query.page,
            "size": query.size,
            "items": items[: query.size],
            "facets": facets,
        }
    )


async def search(request: Request) -> Response:
    raw: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        raw.setdefault(key, []).append(value)
    key = request.scope["query_string"]
    body = await asyncio.get_running_loop().run_in_executor(POOL, _search, raw, key)
    return Response(body, media_type="application/json")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/bare/search", search), Route("/healthz", healthz)])
