"""JSON search endpoints."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from search_api import service
from search_api.deps import get_backend, get_store
from search_api.routers.params import SEARCH_OPENAPI, search_params
from search_api.search.base import FacetValue, SearchBackend, SearchQuery, SearchResult
from search_api.service import SearchParams
from search_api.store import Store

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchResponse(BaseModel):
    total: int
    page: int
    size: int
    items: list[dict[str, Any]]
    facets: dict[str, list[FacetValue]]


def _json(query: SearchQuery, result: SearchResult) -> Response:
    # The backend's items are already plain JSON values: serialise them directly instead of
    # validating them again through the response model (the search hot path).
    payload = {
        "total": result.total,
        "page": query.page,
        "size": query.size,
        "items": result.items,
        "facets": {k: [f.model_dump() for f in v] for k, v in result.facets.items()},
    }
    return Response(orjson.dumps(payload), media_type="application/json")


# `async def`: the search is short and CPU-bound; running it on the event loop avoids a worker
# thread hop per request, which costs more than the search itself at high request rates.
@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Search all records",
    openapi_extra=SEARCH_OPENAPI,
)
async def search(
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
) -> Response:
    query = service.build_query(params)
    return _json(query, service.search(backend, query))


@router.get(
    "/fairs",
    response_model=SearchResponse,
    summary="Fairs, upcoming first",
    openapi_extra=SEARCH_OPENAPI,
)
async def fairs(
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
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
    query = service.build_query(params)
    return _json(query, service.search(backend, query))


@router.get("/records/{record_id}", summary="One record with its provenance")
def get_record(record_id: str, store: Annotated[Store, Depends(get_store)]) -> dict[str, Any]:
    return service.get_record(store, record_id).model_dump(mode="json")
