"""One market on one page: the rules to meet, the fairs to visit, the finance to ask for.

`market_overview` is what both `GET /api/v1/markets/{code}` and the web page `/markets/{code}`
show, so the two never disagree.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from search_api.domain import duplicates, eligibility, hs_sectors, products
from search_api.domain import markets as mk
from search_api.domain.vocab import REQUIREMENT_TYPES
from search_api.errors import NotFound
from search_api.search.base import SearchBackend, SearchQuery
from search_api.search.request import resolve_hs, resolve_origin
from search_api.services.search import every_item, product_reason

MAX_RECORDS = 500
"""Most records of one kind read for one market page (a market has a few dozen)."""
MAX_FAIRS = 50
OTHER_TYPE = "other"


def resolve_market_or_404(text: str) -> str:
    code = mk.resolve_market(text)
    if code is None:
        raise NotFound(
            f"market: unknown market {text!r}; use an ISO 3166-1 code, a country name "
            "(English, French or Spanish) or a bloc code such as EU"
        )
    return code


def _all_items(backend: SearchBackend, **filters: Any) -> list[dict[str, Any]]:
    query = SearchQuery(sort="date", facets=False, **filters)
    return list(every_item(backend, query, MAX_RECORDS))


def _fair_order(item: dict[str, Any], today: date) -> tuple[int, int, str]:
    start = item.get("start_date")
    if start:
        return (0, date.fromisoformat(start).toordinal(), item["title"])
    # undated recurring fairs: the next usual month first
    month = item.get("usual_month")
    ahead = (month - today.month) % 12 if month else 12
    return (1, ahead, item["title"])


def _fit_order(item: dict[str, Any]) -> tuple[int, int]:
    """How well a fair fits the product: its tier, then whether its main (first) sector
    is the one that fits (a seafood fair that also lists "food" is less of a food fair)."""
    reason = item.get("matched_product") or {}
    tier = reason.get("fit", "other")
    sectors = item.get("sectors") or []
    main = reason.get("via") == "code" or bool(
        sectors and sectors[0] in (reason.get("sectors") or ())
    )
    return hs_sectors.TIERS.index(tier), 0 if main else 1


def _upcoming(item: dict[str, Any], today: date) -> bool:
    end = item.get("end_date") or item.get("start_date")
    return end is None or date.fromisoformat(end) >= today


# What an exporter must do for each type of rule, in the order a checklist asks it. A rule
# whose title says it is a registration is "register" whatever its type: registrations take
# weeks and come first (LUCID, FDA food facility, GACC).
CHECK_ACTIONS: dict[str, str] = {
    "labelling": "label",
    "marking": "package",
    "packaging": "package",
    "certification": "certify",
    "sps": "certify",
    "tbt": "standard",
    "documentation": "document",
    "rules_of_origin": "document",
    OTHER_TYPE: "other",
}
CHECK_ORDER = ("register", "certify", "label", "package", "standard", "document", "other")
_REGISTRATION = re.compile(r"regist|enregistr|\bLUCID\b", re.IGNORECASE)
MAX_DATES = 6
"""Most dates (comment deadlines, entry into force) the checklist lists."""


def checklist(
    grouped: dict[str, list[dict[str, Any]]], today: date
) -> dict[str, list[dict[str, Any]]]:
    """What to do before shipping, from a market's requirements: `steps` (one per action:
    register, certify, label, package, standard, document, other; each with its rules as
    {id, title}, the product's own first) and `dates` (comment deadlines and dates of entry
    into force still ahead, soonest first: {id, title, date, what: "comments" | "applies"})."""
    steps: dict[str, list[dict[str, Any]]] = {a: [] for a in CHECK_ORDER}
    dates: list[dict[str, Any]] = []
    for rtype, items in grouped.items():
        for item in items:
            action = (
                "register"
                if _REGISTRATION.search(item.get("title") or "")
                else CHECK_ACTIONS.get(rtype, "other")
            )
            steps[action].append({"id": item["id"], "title": item["title"]})
            for field, what in (("comment_deadline", "comments"), ("effective_date", "applies")):
                value = item.get(field)
                if value and date.fromisoformat(value) >= today:
                    dates.append(
                        {"id": item["id"], "title": item["title"], "date": value, "what": what}
                    )
    dates.sort(key=lambda d: (d["date"], d["title"]))
    return {
        "steps": [{"action": a, "rules": rules} for a, rules in steps.items() if rules],
        "dates": dates[:MAX_DATES],
    }


def _named(code: str) -> dict[str, str]:
    return {"code": code, "name": mk.market_name(code)}


def market_overview(
    backend: SearchBackend,
    market: str,
    *,
    hs: str | None = None,
    origin: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Requirements (grouped by type), upcoming fairs and finance for one market, and a
    checklist of what to do before shipping (`checklist`).

    - requirements: tagged with the market, a bloc containing it, or (for a bloc) a member;
      with `hs`, those on the code, a broader code or a narrower one, and those without HS
      codes, which apply to every product (`matched_product.via == "all_products"`, listed
      after the product's own in each group); with `origin`, those not restricted to other
      origins; repealed ones left out.
    - fairs: held in or tagged with the market or one of its blocs (for a bloc: also in its
      members), from today on; undated recurring fairs follow, by their usual month. With
      `hs`, every such fair is kept, ranked by how well it fits the product first (its
      sectors: the product's own, related ones, a general trade fair, other sectors; see
      domain/hs_sectors.py), and each says why (`matched_product`).
    - finance: open to exporters from `origin` (its eligible countries include it or one of
      its blocs, or are not restricted) and not restricted to other destinations; with `hs`,
      those on the product's codes or on none (open to every product).
    """
    today = today or date.today()
    code = resolve_market_or_404(market)
    hs_code = resolve_hs(hs)
    origin_code = resolve_origin(origin)
    scope = mk.expand_all([code])
    origins = mk.expand_all([origin_code]) if origin_code else ()

    grouped: dict[str, list[dict[str, Any]]] = {t: [] for t in (*REQUIREMENT_TYPES, OTHER_TYPE)}
    for item in _all_items(
        backend, kind=("requirement",), markets=scope, hs=hs_code, origins=origins
    ):
        if item.get("status") == "repealed":
            continue
        reason = mk.match_reason(item.get("markets") or [], [code])
        if reason is not None:
            reason["name"] = mk.market_name(reason["code"])
        item["matched_market"] = reason
        if hs_code:
            item["matched_product"] = product_reason(item, hs_code)
        grouped[item.get("requirement_type") or OTHER_TYPE].append(item)
    if hs_code:
        for items in grouped.values():  # the product's own rules first (a stable sort)
            items.sort(key=lambda i: (i.get("matched_product") or {}).get("via") != "code")

    fairs = duplicates.merge(
        item
        for item in _all_items(backend, kind=("fair",), markets=scope)
        if _upcoming(item, today)
    )
    if hs_code:
        for item in fairs:
            item["matched_product"] = product_reason(item, hs_code)
        fairs.sort(key=lambda item: (*_fit_order(item), *_fair_order(item, today)))
    else:
        fairs.sort(key=lambda item: _fair_order(item, today))

    destinations = set(scope)
    finance = [
        item
        for item in _all_items(backend, kind=("finance",), origins=origins, hs=hs_code)
        if not item.get("destinations") or destinations & set(item["destinations"])
    ]
    for item in finance:
        eligibility.annotate(item, origin_code)
        if hs_code:
            item["matched_product"] = product_reason(item, hs_code)
    finance.sort(key=lambda item: (not item.get("sme_focus"), item["title"].casefold()))

    return {
        "market": {
            "code": code,
            "name": mk.market_name(code),
            "names": mk.market_names(code),
            "is_bloc": mk.is_bloc(code),
            "blocs": [_named(b) for b in mk.blocs_of(code)],
            "members": [_named(m) for m in mk.members(code)],
        },
        "hs": {**(products.describe(hs_code) or {}), "hierarchy": products.hierarchy(hs_code)}
        if hs_code
        else None,
        "origin": _named(origin_code) if origin_code else None,
        "requirements": {t: items for t, items in grouped.items() if items},
        "checklist": checklist(grouped, today),
        "requirement_count": sum(len(items) for items in grouped.values()),
        "fairs": fairs[:MAX_FAIRS],
        "fair_count": len(fairs),
        "finance": finance,
        "finance_count": len(finance),
    }
