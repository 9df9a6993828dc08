"""Query parameters shared by every search-like endpoint (JSON and HTML)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Query

from search_api.service import SearchParams


def search_params(
    q: Annotated[str | None, Query(max_length=500, description="Words to search for.")] = None,
    kind: Annotated[list[str], Query(description="fair, requirement or finance")] = [],  # noqa: B006
    market: Annotated[
        list[str], Query(description="ISO 3166-1 alpha-2 code, country name or bloc (EU)")
    ] = [],  # noqa: B006
    sector: Annotated[list[str], Query(description="Sector from the vocabulary")] = [],  # noqa: B006
    status: Annotated[list[str], Query(description="Record status, e.g. cancelled")] = [],  # noqa: B006
    hs: Annotated[str | None, Query(max_length=12, description="HS code (2-6 digits)")] = None,
    date_from: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
    date_to: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=0, le=100)] = 20,
    sort: Annotated[Literal["relevance", "date", "-date"] | None, Query()] = None,
) -> SearchParams:
    return SearchParams(
        q=q,
        kind=tuple(kind),
        market=tuple(market),
        sector=tuple(sector),
        status=tuple(status),
        hs=hs,
        date_from=date_from,
        date_to=date_to,
        page=page,
        size=size,
        sort=sort,
    )
