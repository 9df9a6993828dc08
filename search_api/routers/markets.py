"""`GET /api/v1/markets/{code}`: requirements, fairs and finance for one market."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from search_api.deps import AnswerLanguage, BackendDep
from search_api.services.markets import market_overview

router = APIRouter(prefix="/api/v1", tags=["markets"])


@router.get("/markets/{code}", summary="Requirements, fairs and finance for one market")
def get_market(
    code: str,
    backend: BackendDep,
    lang: AnswerLanguage,
    hs: Annotated[
        str | None, Query(max_length=12, description="HS code of the product (2-6 digits)")
    ] = None,
    origin: Annotated[
        str | None, Query(max_length=100, description="Exporter's country (code or name)")
    ] = None,
) -> dict[str, Any]:
    return market_overview(backend, code, hs=hs, origin=origin, lang=lang)
