"""Server-rendered HTML pages. They call the same service functions as the JSON API.

No JavaScript: facets and filters are plain links, so a page works on any phone and a slow line.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from search_api import service
from search_api.deps import get_backend, get_store
from search_api.errors import TradepointError
from search_api.routers.params import search_params
from search_api.search.base import SearchBackend
from search_api.service import SearchParams
from search_api.store import Store
from search_api.vocab import BLOCS

router = APIRouter(include_in_schema=False)

FACET_PARAM = {"kind": "kind", "markets": "market", "sectors": "sector", "status": "status"}
FACET_LABEL = {"kind": "Type", "markets": "Market", "sectors": "Sector", "status": "Status"}
KIND_LABEL = {"fair": "Trade fair", "requirement": "Requirement", "finance": "Finance"}
PARAM_LABEL = {"q": "words", "date_from": "from", "date_to": "to", "hs": "HS"}
CACHE_HEADERS = {"Cache-Control": "public, max-age=60"}


def _templates(request: Request) -> Jinja2Templates:
    app = request.app
    if not hasattr(app.state, "templates"):
        templates = Jinja2Templates(directory=str(app.state.settings.templates_dir))
        templates.env.globals.update(
            kind_label=KIND_LABEL,
            facet_label=FACET_LABEL,
            market_name=market_name,
            label=label,
            fmt_date=fmt_date,
            month_name=month_name,
            param_label=PARAM_LABEL,
        )
        app.state.templates = templates
    return app.state.templates


def market_name(code: str) -> str:
    if code in BLOCS:
        return code
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def month_name(month: int | None) -> str:
    return calendar.month_name[month] if month and 1 <= month <= 12 else ""


def label(value: str | None) -> str:
    return (value or "").replace("_", " ").capitalize()


def fmt_date(value: Any) -> str:
    if not value:
        return ""
    d = date.fromisoformat(str(value)[:10])
    return f"{d.day} {d:%b %Y}"


def _pairs(p: SearchParams) -> list[tuple[str, str]]:
    """The active search as (param, value) pairs, in a stable order for links."""
    pairs: list[tuple[str, str]] = []
    if p.q:
        pairs.append(("q", p.q))
    for name in ("kind", "market", "sector", "status"):
        pairs += [(name, v) for v in getattr(p, name)]
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


def render_error(request: Request, status: int, message: str) -> Response:
    try:
        return _templates(request).TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )
    except TradepointError:
        raise
    except Exception:
        return HTMLResponse(f"<h1>Error {status}</h1>", status_code=status)
