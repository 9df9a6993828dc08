"""Query parameters shared by every search-like endpoint (JSON and HTML).

The parameters are read from the query string and validated by ONE pydantic model, instead of
one FastAPI `Query()` per parameter: FastAPI's per-parameter handling cost ~0.3 ms a request,
more than a search. The model also generates the OpenAPI description (`SEARCH_OPENAPI`), so the
documentation still lists every parameter; routes add it with `openapi_extra=SEARCH_OPENAPI`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from search_api.domain.records import MAX_RECORD_DATE as MAX_DATE
from search_api.domain.records import MIN_RECORD_DATE as MIN_DATE
from search_api.service import SearchParams


class SearchQueryParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: str | None = Field(None, max_length=500, description="Words to search for.")
    kind: list[str] = Field([], description="fair, requirement or finance (may repeat)")
    market: list[str] = Field(
        [], description="ISO 3166-1 code, country name (en/fr/es) or bloc such as EU"
    )
    sector: list[str] = Field([], description="Sector from the vocabulary")
    status: list[str] = Field([], description="Record status, e.g. cancelled")
    lang: list[str] = Field(
        [], description="Language of the records: ISO 639 code such as fr (may repeat)"
    )
    hs: str | None = Field(None, max_length=12, description="HS code (2-6 digits)")
    # Bounded: the index cannot represent far-off dates, and no record has them.
    date_from: date | None = Field(None, ge=MIN_DATE, le=MAX_DATE, description="YYYY-MM-DD")
    date_to: date | None = Field(None, ge=MIN_DATE, le=MAX_DATE, description="YYYY-MM-DD")
    page: int = Field(1, ge=1, le=10_000)
    size: int = Field(20, ge=0, le=100)
    sort: Literal["relevance", "date", "-date"] | None = None
    instrument: list[str] = Field([], description="Finance instrument, e.g. credit_insurance")
    provider_type: list[str] = Field([], description="Finance provider type, e.g. eca")
    origin: str | None = Field(
        None,
        max_length=100,
        description="Exporter's country (code or name): finance open to its exporters "
        "(eligible countries include it or one of its blocs, or are not restricted)",
    )
    sme_focus: bool | None = Field(
        None, description="true: finance for SMEs; false: not SME-specific"
    )
    amount_min: float | None = Field(None, ge=0, description="Finance amounts overlapping")
    amount_max: float | None = Field(None, ge=0)
    currency: str | None = Field(
        None, max_length=3, description="ISO 4217 code of amount_min/max (default USD)"
    )


_LIST_PARAMS = frozenset(
    name
    for name, field in SearchQueryParams.model_fields.items()
    if getattr(field.annotation, "__origin__", None) is list
)
_PARAMS = frozenset(SearchQueryParams.model_fields)


def _openapi_parameters() -> list[dict[str, Any]]:
    schema = SearchQueryParams.model_json_schema()
    out = []
    for name, prop in schema["properties"].items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        if name in _LIST_PARAMS:
            param.update(style="form", explode=True)
        out.append(param)
    return out


SEARCH_OPENAPI: dict[str, Any] = {"parameters": _openapi_parameters()}


async def search_params(request: Request) -> SearchParams:
    """The search parameters of this request; a bad one is a 422 naming it."""
    qp = request.query_params
    raw = {
        name: (qp.getlist(name) if name in _LIST_PARAMS else qp[name])
        for name in qp.keys()  # noqa: SIM118 - a multidict: keys() lists each name once
        if name in _PARAMS
    }
    try:
        p = SearchQueryParams.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("query", *err["loc"])} for err in exc.errors()]
        ) from None
    return SearchParams(
        q=p.q,
        kind=tuple(p.kind),
        market=tuple(p.market),
        sector=tuple(p.sector),
        status=tuple(p.status),
        lang=tuple(p.lang),
        hs=p.hs,
        date_from=p.date_from,
        date_to=p.date_to,
        page=p.page,
        size=p.size,
        sort=p.sort,
        instrument=tuple(p.instrument),
        provider_type=tuple(p.provider_type),
        origin=p.origin,
        sme_focus=p.sme_focus,
        amount_min=p.amount_min,
        amount_max=p.amount_max,
        currency=p.currency,
    )
