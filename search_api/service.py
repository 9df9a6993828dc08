"""What the JSON API and the web pages both do: turn request parameters into a search and run it.

Routers and web views call these functions, so the two never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import Field, ValidationError

from search_api.domain import markets as mk
from search_api.domain.languages import language_code
from search_api.domain.records import KINDS, AnyRecord
from search_api.domain.vocab import (
    FAIR_STATUSES,
    FINANCE_INSTRUMENTS,
    PROVIDER_TYPES,
    REQUIREMENT_STATUSES,
    SECTORS,
)
from search_api.errors import BadRequest, NotFound
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.store import Store

STATUSES = (*FAIR_STATUSES, *REQUIREMENT_STATUSES, "withdrawn")
MAX_RESULT_WINDOW = 10_000
_HS_PARAM = re.compile(r"^\d{2,6}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class SearchParams:
    """Raw request parameters, as typed by a user; lists may hold comma-separated values."""

    q: str | None = None
    kind: tuple[str, ...] = ()
    market: tuple[str, ...] = ()
    sector: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    lang: tuple[str, ...] = ()
    hs: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    size: int = 20
    sort: str | None = None
    instrument: tuple[str, ...] = ()
    provider_type: tuple[str, ...] = ()
    origin: str | None = None
    sme_focus: bool | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    currency: str | None = None


class UserQuery(SearchQuery):
    """A SearchQuery plus what the user asked before expansion, to explain matches.
    Backends see a plain SearchQuery (markets already include blocs and members)."""

    asked_markets: tuple[str, ...] = Field((), description="Markets as asked, not expanded.")


def _split(values: tuple[str, ...] | list[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def _vocabulary(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    out = [v.lower() for v in _split(values)]
    for v in out:
        if v not in allowed:
            raise BadRequest(
                f"{name}: unknown value {v!r}; use one of {', '.join(allowed)}",
                code="invalid_parameter",
            )
    return out


def resolve_origin(value: str | None) -> str | None:
    """The exporter's country from what a user typed; a 400 naming `origin` otherwise."""
    if value is None or not value.strip():
        return None
    code = mk.resolve_market(value)
    if code is None:
        raise BadRequest(
            f"origin: unknown country {value!r}; use an ISO 3166-1 code or a country name",
            code="invalid_parameter",
        )
    if mk.is_bloc(code):
        raise BadRequest(
            f"origin: {value!r} is a bloc; give the exporter's country", code="invalid_parameter"
        )
    return code


def _finance_filters(p: SearchParams) -> dict[str, Any]:
    origin = resolve_origin(p.origin)
    for name in ("amount_min", "amount_max"):
        value = getattr(p, name)
        if value is not None and not 0 <= value < float("inf"):
            raise BadRequest(f"{name}: must be a number of 0 or more", code="invalid_parameter")
    if p.amount_min is not None and p.amount_max is not None and p.amount_min > p.amount_max:
        raise BadRequest("amount_max: must not be below amount_min", code="invalid_parameter")
    currency = None
    if p.amount_min is not None or p.amount_max is not None or p.currency:
        currency = (p.currency or DEFAULT_CURRENCY).strip().upper()
        if not _CURRENCY.match(currency):
            raise BadRequest(
                f"currency: {p.currency!r} is not an ISO 4217 code such as USD",
                code="invalid_parameter",
            )
    return {
        "instruments": tuple(_vocabulary("instrument", p.instrument, FINANCE_INSTRUMENTS)),
        "provider_types": tuple(_vocabulary("provider_type", p.provider_type, PROVIDER_TYPES)),
        "origins": mk.expand_all([origin]) if origin else (),
        "sme_focus": p.sme_focus,
        "amount_min": p.amount_min,
        "amount_max": p.amount_max,
        "currency": currency,
    }


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
        code = mk.resolve_market(m)
        if code is None:
            raise BadRequest(
                f"market: unknown market {m!r}; use an ISO 3166-1 code, "
                "a country name or a bloc code such as EU",
                code="invalid_parameter",
            )
        if code not in markets:
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
    languages: list[str] = []
    for value in _split(p.lang):
        code = language_code(value)
        if code is None:
            raise BadRequest(
                f"lang: unknown language {value!r}; use an ISO 639 code such as fr",
                code="invalid_parameter",
            )
        if code not in languages:
            languages.append(code)
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
    finance = _finance_filters(p)
    try:
        return UserQuery(
            q=q,
            kind=tuple(kinds),
            # a country also finds its blocs' rules; a bloc also finds its members' records
            markets=mk.expand_all(markets),
            asked_markets=tuple(markets),
            sectors=tuple(sectors),
            status=tuple(s for s in statuses if s != "withdrawn"),
            include_withdrawn="withdrawn" in statuses,
            languages=tuple(languages),
            hs=hs,
            date_from=p.date_from,
            date_to=p.date_to,
            sort=sort,
            page=p.page,
            size=p.size,
            **finance,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise BadRequest(f"{field}: {err['msg']}", code="invalid_parameter") from exc


def search(backend: SearchBackend, query: SearchQuery) -> SearchResult:
    """Run a search; with a market filter, each item says why it matched (`matched_market`:
    {"market": asked, "code": the record's market, "via": "direct" | "bloc" | "member"})."""
    result = backend.search(query)
    asked = getattr(query, "asked_markets", ())
    if asked:
        for item in result.items:
            item["matched_market"] = mk.match_reason(item.get("markets") or [], asked)
    return result


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
