"""JSON search endpoints."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from search_api import service
from search_api.deps import get_backend, get_store
from search_api.routers.params import search_params
from search_api.search.base import FacetValue, SearchBackend
from search_api.service import SearchParams
from search_api.store import Store

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchResponse(BaseModel):
    total: int
    page: int
    size: int
    items: list[dict[str, Any]]
    facets: dict[str, list[FacetValue]]


@router.get("/search", response_model=SearchResponse, summary="Search all records")
def search(
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
) -> SearchResponse:
    query = service.build_query(params)
    result = service.search(backend, query)
    return SearchResponse(
        total=result.total,
        page=query.page,
        size=query.size,
        items=result.items,
        facets=result.facets,
    )


@router.get("/fairs", response_model=SearchResponse, summary="Fairs, upcoming first")
def fairs(
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
) -> SearchResponse:
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
    result = service.search(backend, query)
    return SearchResponse(
        total=result.total,
        page=query.page,
        size=query.size,
        items=result.items,
        facets=result.facets,
    )


@router.get("/records/{record_id}", summary="One record with its provenance")
def get_record(record_id: str, store: Annotated[Store, Depends(get_store)]) -> dict[str, Any]:
    return service.get_record(store, record_id).model_dump(mode="json")
