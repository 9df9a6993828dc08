"""Server-rendered HTML pages. They call the same services as the JSON API.

No JavaScript: facets and filters are plain links, so a page works on any phone and a slow line.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from search_api.deps import BackendDep, StoreDep, search_request
from search_api.domain import duplicates, glossary, markets, products, words
from search_api.domain.records import is_undated_series
from search_api.search.base import SearchResult
from search_api.search.request import SearchRequest, UserQuery, resolve_market
from search_api.services import search as searching
from search_api.services.markets import market_overview
from search_api.web.i18n import official_link, request_language
from search_api.web.render import kept_page, page

router = APIRouter(include_in_schema=False)

# Facet field -> the page's parameter. `language` filters by the records' language; `lang` is
# the page's own (web/i18n.py).
FACET_PARAM = {
    "kind": "kind",
    "markets": "market",
    "sectors": "sector",
    "status": "status",
    "language": "language",
}
CACHE_HEADERS = {"Cache-Control": "public, max-age=60"}


def _link(pairs: list[tuple[str, str]], page_number: int = 1) -> str:
    if page_number > 1:
        pairs = [*pairs, ("page", str(page_number))]
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


def _view_model(search: SearchRequest, result: SearchResult, query: UserQuery) -> dict[str, Any]:
    pairs = search.to_params()
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
    # Fair series without known dates are listed apart, after the rest of the page, so none
    # reads as a scheduled fair. By date they sort last already (their block starts on the
    # page where dated fairs end); by relevance each page keeps its own records, regrouped,
    # so paging still shows every result once.
    listed = [i for i in result.items if not is_undated_series(i)]
    recurring = [i for i in result.items if is_undated_series(i)]
    calendar = [(k, v) for k, v in search.to_params(records_language="lang") if k != "size"]
    return {
        "params": search,
        "result": result,
        "listed": listed,
        "recurring": recurring,
        "query": query,
        "active": active,
        "facets": facets,
        "page": query.page,
        "pages": pages,
        "prev_link": _link(pairs, query.page - 1) if query.page > 1 else None,
        "next_link": _link(pairs, query.page + 1) if query.page < pages else None,
        # The search as the API reads it (`lang` there is the records' language).
        "calendar_query": urlencode([(k, v) for k, v in calendar if k != "sort"]),
        "sort_links": {
            s: _link([x for x in pairs if x[0] != "sort"] + [("sort", s)])
            for s in ("relevance", "date", "-date")
        },
    }


HOME_FAIRS = 8
HOME_CANDIDATES = 40
"""Dated fairs the home page reads to pick its 8: enough for real fairs to outnumber the
demo's fictional ones, which are all in the next few weeks."""


def _real_first(items: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The home page's upcoming fairs: real ones (whose page can be a public one) before
    fictional ones (the demo's, on reserved names such as .invalid), then by date."""
    real = [i for i in items if official_link(i.get("url"))]
    chosen = {i["id"] for i in real[:size]}
    rest = [i["id"] for i in items if i["id"] not in chosen]
    chosen.update(rest[: size - len(chosen)])
    return [i for i in items if i["id"] in chosen]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, backend: BackendDep) -> Response:
    upcoming = searching.upcoming_fairs(backend, date.today(), size=HOME_CANDIDATES)
    # A date window finds dated fairs only; a series is no upcoming fair whatever finds it.
    dated = [i for i in upcoming.items if not is_undated_series(i)]
    upcoming.items = _real_first(duplicates.merge(dated), HOME_FAIRS)
    overview = searching.search(backend, SearchRequest(size=0).to_query(), keep=True)
    context = {"upcoming": upcoming, "overview": overview, "today": date.today().isoformat()}
    return page(request, "home.html", context, headers=CACHE_HEADERS)


MAX_ALSO = 8
"""Most equivalents of the query's words a results page lists."""


def _also_searched(query: UserQuery) -> list[str]:
    """The glossary's equivalents of the query's words (the terms of the concepts they name),
    for the page to say why an English record answers a French query."""
    typed = {words.fold(w) for w in words.tokens(query.q or "")}
    entries = glossary.glossary().by_id
    out: dict[str, None] = {}
    for group in query.text:
        for phrase in group:
            entry = entries.get(phrase.concept or "")
            for terms in entry.terms.values() if entry else ():
                for term in terms:
                    if not {words.fold(w) for w in words.tokens(term)} <= typed:
                        out.setdefault(term, None)
    return list(out)[:MAX_ALSO]


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, backend: BackendDep) -> Response:
    def context() -> dict[str, Any]:
        # On the web pages `lang` is the language of the page; the records' is `language`.
        search = search_request(request, ignore=("lang",))
        query = search.to_query()
        lang = request_language(request)
        result = searching.search(backend, query, lang, keep=True)
        found = _view_model(search, result, query)
        found["notices"] = searching.language_notices(backend, query.languages, lang)
        found["also"] = _also_searched(query)
        # Nothing found for words that name a product ("anacardos"): offer its HS codes,
        # whose rules and fairs a product filter finds.
        found["products"] = (
            products.suggest(search.q, 3) if search.q and not result.total and not search.hs else []
        )
        return found

    return kept_page(request, backend, "search.html", context, headers=CACHE_HEADERS)


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, record_id: str, store: StoreDep, backend: BackendDep) -> Response:
    record = searching.get_record(store, record_id)
    view = searching.record_view(store, record, request_language(request))
    context = {"r": view, "record": record, "also": searching.same_fair(backend, view)}
    return page(request, "record.html", context, headers=CACHE_HEADERS)


PAGE_LIMIT = 10
"""Programmes a market page lists (templates/market.html `page_limit`); a link leads to all."""
PAGE_REQUIREMENTS = 15
"""Most rules a market page lists (the first of each type; a link leads to all of them), so
that a market with hundreds stays a page of under 30 KB."""


def _first_of_each(
    groups: dict[str, list[dict[str, Any]]], limit: int
) -> dict[str, list[dict[str, Any]]]:
    """The first k items of every group, k as large as `limit` items in all allow."""
    k = 0
    while k < limit and sum(min(len(g), k + 1) for g in groups.values()) <= limit:
        if all(len(g) <= k for g in groups.values()):
            break
        k += 1
    k = max(k, 1)  # every type named on the page shows at least its first rule
    return {t: items[:k] for t, items in groups.items() if items[:k]}


@router.get("/markets", response_class=HTMLResponse)
def market_form(
    market: Annotated[str, Query(min_length=1, max_length=100)],
    product: Annotated[str | None, Query(max_length=200)] = None,
    origin: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The home page's market form: resolve what was typed ("Allemagne") to the market page."""
    code = resolve_market("market", market)
    extra = {k: v for k, v in (("product", product), ("origin", origin)) if v and v.strip()}
    target = f"/markets/{code}" + (f"?{urlencode(extra)}" if extra else "")
    return RedirectResponse(target, status_code=303)


FAIRS_SHOWN = 15
"""Most fairs a market page lists (dated, then recurring, then other sectors'); the rest are
one link away, so that the page stays light on a phone."""


def _fair_sections(fairs: list[dict[str, Any]]) -> dict[str, Any]:
    """A market's fairs (in the overview's order) as the page shows them: `upcoming` (dated;
    with a product, those that fit it at all), `recurring` (series without known next dates:
    "usually in June", never "scheduled") and `other_fairs` (dated fairs of other sectors),
    at most FAIRS_SHOWN in all, with the count of each (`counts`)."""
    upcoming, recurring, other = [], [], []
    for fair in fairs:
        if is_undated_series(fair):
            recurring.append(fair)
        elif (fair.get("matched_product") or {}).get("fit") == "other":
            other.append(fair)
        else:
            upcoming.append(fair)
    counts = {"upcoming": len(upcoming), "recurring": len(recurring), "other": len(other)}
    left = FAIRS_SHOWN
    sections: dict[str, Any] = {"fair_counts": counts}
    for name, items in (("upcoming", upcoming), ("recurring", recurring), ("other_fairs", other)):
        # dated fairs leave room for a few recurring ones, which are often the product's own
        room = left if name != "upcoming" or not recurring else min(left, FAIRS_SHOWN - 5)
        sections[name] = items[:room]
        left -= len(sections[name])
    return sections


@router.get("/markets/{code}", response_class=HTMLResponse)
def market_page(
    request: Request,
    code: str,
    backend: BackendDep,
    hs: Annotated[str | None, Query(max_length=12)] = None,
    origin: Annotated[str | None, Query(max_length=100)] = None,
    product: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The "Export to {market}" page: the overview of GET /api/v1/markets/{code}. Words in
    `product` list HS codes to pick (as links); an HS code in `product` is used directly."""
    product = (product or "").strip() or None

    def context() -> dict[str, Any]:
        hs_code = hs
        suggestions: list[dict[str, Any]] = []
        if product:
            as_code = products.normalise_code(product)
            if as_code:
                hs_code = as_code
            else:
                suggestions = products.suggest(product, 10)
        overview = market_overview(
            backend,
            code,
            hs=hs_code,
            origin=origin,
            max_requirements=2 * PAGE_REQUIREMENTS,
            # enough to fill each section (dated, recurring, other sectors') from what was read
            max_fairs=3 * FAIRS_SHOWN,
            max_finance=PAGE_LIMIT,
            lang=request_language(request),
        )
        requirements = _first_of_each(overview["requirements"], PAGE_REQUIREMENTS)
        return {
            **overview,
            **_fair_sections(overview["fairs"]),
            "requirements": requirements,
            "requirements_shown": sum(len(items) for items in requirements.values()),
            "page_limit": PAGE_LIMIT,
            "suggestions": suggestions,
            "product": product,
        }

    return kept_page(request, backend, "market.html", context, headers=CACHE_HEADERS)
