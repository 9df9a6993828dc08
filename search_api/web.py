"""Server-rendered HTML pages. They call the same service functions as the JSON API.

No JavaScript: facets and filters are plain links, so a page works on any phone and a slow line.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from search_api import service
from search_api.deps import get_backend, get_store
from search_api.domain import markets
from search_api.domain.i18n import N_, LocalisedTemplates
from search_api.domain.languages import language_code
from search_api.errors import BadRequest, TradepointError
from search_api.routers.params import search_params
from search_api.search.base import SearchBackend
from search_api.service import SearchParams
from search_api.store import Store

router = APIRouter(include_in_schema=False)

# `language` filters by the records' language; `lang` is the page's own (search_api/i18n.py).
FACET_PARAM = {
    "kind": "kind",
    "markets": "market",
    "sectors": "sector",
    "status": "status",
    "language": "language",
}
# English msgids: each render gets them translated under the same names (search_api/i18n.py).
FACET_LABEL = {
    "kind": N_("Type"),
    "markets": N_("Market"),
    "sectors": N_("Sector"),
    "status": N_("Status"),
    "language": N_("Language"),
}
KIND_LABEL = {"fair": N_("Trade fair"), "requirement": N_("Requirement"), "finance": N_("Finance")}
PARAM_LABEL = {
    "q": N_("words"),
    "kind": N_("type"),
    "market": N_("market"),
    "sector": N_("sector"),
    "status": N_("status"),
    "language": N_("language"),
    "date_from": N_("from"),
    "date_to": N_("to"),
    "hs": N_("HS"),
    "instrument": N_("instrument"),
    "provider_type": N_("provider"),
    "origin": N_("exporters from"),
    "sme_focus": N_("for SMEs"),
    "amount_min": N_("amount from"),
    "amount_max": N_("amount up to"),
    "currency": N_("currency"),
}
CACHE_HEADERS = {"Cache-Control": "public, max-age=60"}


def _templates(request: Request) -> LocalisedTemplates:
    """The shared templates; each response is rendered in the request's language, and the
    helpers (label, fmt_date, month_name, market_name, ...) come from search_api/i18n.py."""
    app = request.app
    if not hasattr(app.state, "templates"):
        app.state.templates = LocalisedTemplates(
            str(app.state.settings.templates_dir),
            label_maps={
                "kind_label": KIND_LABEL,
                "facet_label": FACET_LABEL,
                "param_label": PARAM_LABEL,
            },
        )
    return app.state.templates


def _pairs(p: SearchParams) -> list[tuple[str, str]]:
    """The active search as (param, value) pairs, in a stable order for links."""
    pairs: list[tuple[str, str]] = []
    if p.q:
        pairs.append(("q", p.q))
    for name in ("kind", "market", "sector", "status", "instrument", "provider_type"):
        pairs += [(name, v) for v in getattr(p, name)]
    pairs += [("language", v) for v in p.lang]
    for name in ("origin", "sme_focus", "amount_min", "amount_max", "currency"):
        if getattr(p, name) is not None:
            pairs.append((name, str(getattr(p, name))))
    for name in ("hs", "date_from", "date_to", "sort"):
        if getattr(p, name):
            pairs.append((name, str(getattr(p, name))))
    if p.size != 20:
        pairs.append(("size", str(p.size)))
    return pairs


def _link(pairs: list[tuple[str, str]], page: int = 1) -> str:
    if page > 1:
        pairs = [*pairs, ("page", str(page))]
    return "/search?" + urlencode(pairs) if pairs else "/search"


def _add_bloc_counts(entries: list[dict[str, Any]], counts: dict[str, int]) -> None:
    """A market filter also finds the records of the market's blocs (a country) or of its
    members (a bloc), so each market entry says how many more records its link finds that way
    (as counted for those blocs or members; a record tagged with both is in both counts)."""
    for e in entries:
        code = e["value"]
        e["via"] = [(b, counts[b]) for b in markets.blocs_of(code) if counts.get(b)]
        if markets.is_bloc(code):
            members = set(markets.members(code))
            e["members"] = sum(n for c, n in counts.items() if c in members)


def _view_model(p: SearchParams, result: Any, query: Any) -> dict[str, Any]:
    pairs = _pairs(p)
    active = [
        {"param": k, "value": v, "remove": _link([x for x in pairs if x != (k, v)])}
        for k, v in pairs
        if k not in ("sort", "size")
    ]
    facets = []
    for field, values in result.facets.items():
        param = FACET_PARAM[field]
        entries = []
        for fv in values[:12]:
            selected = (param, fv.value) in pairs
            entries.append(
                {
                    "value": fv.value,
                    "count": fv.count,
                    "selected": selected,
                    "link": _link(
                        [x for x in pairs if x != (param, fv.value)]
                        if selected
                        else [*pairs, (param, fv.value)]
                    ),
                }
            )
        if field == "markets":
            _add_bloc_counts(entries, {fv.value: fv.count for fv in values})
        if entries:
            facets.append({"field": field, "entries": entries})
    pages = max(1, -(-result.total // query.size)) if query.size else 1
    return {
        "params": p,
        "result": result,
        "query": query,
        "active": active,
        "facets": facets,
        "page": query.page,
        "pages": pages,
        "prev_link": _link(pairs, query.page - 1) if query.page > 1 else None,
        "next_link": _link(pairs, query.page + 1) if query.page < pages else None,
        # The search as the API reads it, where `lang` is the records' language (`language`
        # here); the page's own `lang` is not part of the search.
        "calendar_query": urlencode(
            [("lang" if k == "language" else k, v) for k, v in pairs if k not in ("sort", "size")]
        ),
        "sort_links": {
            s: _link([x for x in pairs if x[0] != "sort"] + [("sort", s)])
            for s in ("relevance", "date", "-date")
        },
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, backend: Annotated[SearchBackend, Depends(get_backend)]) -> Response:
    upcoming = service.upcoming_fairs(backend, date.today(), size=8)
    overview = service.search(backend, service.build_query(SearchParams(size=0)))
    return _templates(request).TemplateResponse(
        request,
        "home.html",
        {"upcoming": upcoming, "overview": overview, "today": date.today().isoformat()},
        headers=CACHE_HEADERS,
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    params: Annotated[SearchParams, Depends(search_params)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
) -> Response:
    # On the web pages `lang` is the language of the page; the records' is `language`.
    asked = request.query_params.getlist("language")
    params = replace(params, lang=tuple(language_code(v) or v for v in asked))
    query = service.build_query(params)
    result = service.search(backend, query)
    return _templates(request).TemplateResponse(
        request, "search.html", _view_model(params, result, query), headers=CACHE_HEADERS
    )


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(
    request: Request, record_id: str, store: Annotated[Store, Depends(get_store)]
) -> Response:
    record = service.get_record(store, record_id)
    return _templates(request).TemplateResponse(
        request,
        "record.html",
        {"r": record.model_dump(mode="json"), "record": record},
        headers=CACHE_HEADERS,
    )


@router.get("/markets", response_class=HTMLResponse)
def market_form(
    market: Annotated[str, Query(min_length=1, max_length=100)],
    product: Annotated[str | None, Query(max_length=200)] = None,
    origin: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The home page's market form: resolve what was typed ("Allemagne") to the market page."""
    code = markets.resolve_market(market)
    if code is None:
        raise BadRequest(
            f"market: unknown market {market!r}; use a country name, an ISO code or "
            "a bloc such as EU",
            code="invalid_parameter",
        )
    extra = {k: v for k, v in (("product", product), ("origin", origin)) if v and v.strip()}
    target = f"/markets/{code}" + (f"?{urlencode(extra)}" if extra else "")
    return RedirectResponse(target, status_code=303)


@router.get("/markets/{code}", response_class=HTMLResponse)
def market_page(
    request: Request,
    code: str,
    backend: Annotated[SearchBackend, Depends(get_backend)],
    hs: Annotated[str | None, Query(max_length=12)] = None,
    origin: Annotated[str | None, Query(max_length=100)] = None,
    product: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The "Export to {market}" page: the overview of GET /api/v1/markets/{code}. Words in
    `product` list HS codes to pick (as links); an HS code in `product` is used directly."""
    from search_api.domain import products
    from search_api.routers.markets import market_overview

    product = (product or "").strip() or None
    suggestions: list[dict[str, Any]] = []
    if product:
        as_code = products.normalise_code(product)
        if as_code:
            hs = as_code
        else:
            suggestions = products.suggest(product, 10)
    overview = market_overview(backend, code, hs=hs, origin=origin)
    context = {**overview, "suggestions": suggestions, "product": product}
    return _templates(request).TemplateResponse(
        request, "market.html", context, headers=CACHE_HEADERS
    )


def render_error(request: Request, status: int, message: str) -> Response:
    try:
        return _templates(request).TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )
    except TradepointError:
        raise
    except Exception:
        return HTMLResponse(f"<h1>Error {status}</h1>", status_code=status)
