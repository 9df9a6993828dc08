"""What the JSON API and the web pages both do: turn request parameters into a search and run it.

Routers and web views call these functions, so the two never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from search_api.errors import BadRequest, NotFound
from search_api.schema import KINDS, AnyRecord
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.store import Store
from search_api.vocab import FAIR_STATUSES, REQUIREMENT_STATUSES, SECTORS, resolve_market

STATUSES = (*FAIR_STATUSES, *REQUIREMENT_STATUSES, "withdrawn")
MAX_RESULT_WINDOW = 10_000
_HS_PARAM = re.compile(r"^\d{2,6}$")


@dataclass(frozen=True)
class SearchParams:
    """Raw request parameters, as typed by a user; lists may hold comma-separated values."""

    q: str | None = None
    kind: tuple[str, ...] = ()
    market: tuple[str, ...] = ()
    sector: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    hs: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    size: int = 20
    sort: str | None = None


def _split(values: tuple[str, ...] | list[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def build_query(p: SearchParams) -> SearchQuery:
    """Validate user parameters; every problem becomes a 400 that names the parameter."""
    kinds = [k.lower() for k in _split(p.kind)]
    for k in kinds:
        if k not in KINDS:
            raise BadRequest(
                f"kind: unknown kind {k!r}; use one of {', '.join(KINDS)}", code="invalid_parameter"
            )
    markets = []
    for m in _split(p.market):
        code = resolve_market(m)
        if code is None:
            raise BadRequest(
                f"market: unknown market {m!r}; use an ISO 3166-1 code, "
                "a country name or a bloc code such as EU",
                code="invalid_parameter",
            )
        markets.append(code)
    sectors = [s.lower() for s in _split(p.sector)]
    for s in sectors:
        if s not in SECTORS:
            raise BadRequest(f"sector: unknown sector {s!r}", code="invalid_parameter")
    statuses = [s.lower() for s in _split(p.status)]
    for s in statuses:
        if s not in STATUSES:
            raise BadRequest(
                f"status: unknown status {s!r}; use one of {', '.join(STATUSES)}",
                code="invalid_parameter",
            )
    hs = None
    if p.hs:
        hs = p.hs.replace(".", "").replace(" ", "")
        if not _HS_PARAM.match(hs):
            raise BadRequest(
                f"hs: {p.hs!r} is not an HS code (2 to 6 digits)", code="invalid_parameter"
            )
    if p.date_from and p.date_to and p.date_from > p.date_to:
        raise BadRequest("date_to: must not be before date_from", code="invalid_parameter")
    if p.page * p.size > MAX_RESULT_WINDOW:
        raise BadRequest(
            f"page: page * size must not exceed {MAX_RESULT_WINDOW}; refine the search",
            code="invalid_parameter",
        )
    q = (p.q or "").strip() or None
    sort = p.sort or ("relevance" if q else "date")
    if sort == "relevance" and not q:
        sort = "date"
    try:
        return SearchQuery(
            q=q,
            kind=tuple(kinds),
            markets=tuple(markets),
            sectors=tuple(sectors),
            status=tuple(s for s in statuses if s != "withdrawn"),
            include_withdrawn="withdrawn" in statuses,
            hs=hs,
            date_from=p.date_from,
            date_to=p.date_to,
            sort=sort,
            page=p.page,
            size=p.size,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise BadRequest(f"{field}: {err['msg']}", code="invalid_parameter") from exc


def search(backend: SearchBackend, query: SearchQuery) -> SearchResult:
    return backend.search(query)


def upcoming_fairs(
    backend: SearchBackend, today: date, size: int = 20, page: int = 1, **filters: Any
) -> SearchResult:
    query = SearchQuery(
        kind=("fair",), date_from=today, sort="date", size=size, page=page, **filters
    )
    return backend.search(query)


def get_record(store: Store, record_id: str) -> AnyRecord:
    record = store.get_record(record_id)
    if record is None:
        raise NotFound(f"record {record_id!r} not found")
    return record
