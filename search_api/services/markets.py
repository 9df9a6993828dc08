"""One market on one page: the rules to meet, the fairs to visit, the finance to ask for.

`market_overview` is what both `GET /api/v1/markets/{code}` and the web page `/markets/{code}`
show, so the two never disagree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import orjson

from search_api.domain import duplicates, eligibility, hs_sectors, products, sentences
from search_api.domain import markets as mk
from search_api.domain.i18n import DEFAULT_LANGUAGE
from search_api.domain.records import is_undated_series
from search_api.domain.vocab import REQUIREMENT_TYPES
from search_api.errors import NotFound
from search_api.search.base import MIN_RECORD_DATE, SearchBackend, SearchQuery, SearchResult
from search_api.search.cache import kept_until_change, memo_search
from search_api.search.request import resolve_hs, resolve_origin
from search_api.services.search import explained_product_reason

# What one overview lists; the counts are of every match. A market of the real catalogue has
# a few dozen of each, a big one in a large index thousands: reading them all cost ~30 µs a
# record (a page took 100-800 ms at 100k records), so each list is read in the order it is
# shown and stops at its limit.
MAX_REQUIREMENTS = 100
MAX_FAIRS = 50
MAX_FINANCE = 50
MAX_RECORDS = 500
"""Most undated fairs read to order them by their usual month (when the list reaches them)."""
OTHER_TYPE = "other"
OVERVIEWS_KEPT = 256
"""Market overviews kept per process until the index changes (up to ~100 items each)."""


@functools.cache
def _pool() -> ThreadPoolExecutor:
    # made on first use (a thread of its own starts only with a task)
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="overview")


def resolve_market_or_404(text: str) -> str:
    code = mk.resolve_market(text)
    if code is None:
        raise NotFound(
            f"market: unknown market {text!r}; use an ISO 3166-1 code, a country name "
            "(English, French or Spanish) or a bloc code such as EU"
        )
    return code


def _first(backend: SearchBackend, size: int, **filters: Any) -> SearchResult:
    """The first `size` matches in date order (and how many there are)."""
    return memo_search(backend, SearchQuery(sort="date", facets=False, size=size, **filters))


Counts = Callable[[], tuple[int, int]]
"""How many fairs the filters find, and how many of them have dates (see `_fair_counts`)."""


def _fair_counts(backend: SearchBackend, **filters: Any) -> tuple[int, int]:
    base: dict[str, Any] = {"kind": ("fair",), **filters}
    return _first(backend, 0, **base).total, _first(
        backend, 0, **base, date_from=MIN_RECORD_DATE
    ).total


def _soonest_fairs(
    backend: SearchBackend,
    size: int,
    today: date,
    *,
    count: bool = True,
    counts: Counts | None = None,
    **filters: Any,
) -> tuple[list[dict[str, Any]], int]:
    """The first `size` upcoming fairs in the order shown (dated ones by date, then undated
    recurring ones by their next usual month), and how many upcoming fairs there are (with
    `count`; otherwise only the dated ones are counted when they fill the list). `counts`:
    `_fair_counts` of the same filters when the caller is already counting them."""
    base: dict[str, Any] = {"kind": ("fair",), **filters}
    dated = _first(backend, size, **base, date_from=today)
    fairs = [i for i in dated.items if _upcoming(i, today)]
    if not count and len(fairs) >= size:
        return fairs, dated.total
    # undated fairs sort after every dated one: they are the last of all the fairs
    every, with_dates = counts() if counts else _fair_counts(backend, **filters)
    undated = every - with_dates
    if undated and len(fairs) < size:
        query = SearchQuery(sort="date", facets=False, **base)
        page_size = 100
        skip = every - undated
        page = skip // page_size + 1
        rest: list[dict[str, Any]] = []
        while len(rest) < min(undated, MAX_RECORDS):
            found = memo_search(backend, query.model_copy(update={"page": page, "size": page_size}))
            if not found.items:
                break
            rest.extend(found.items[skip - (page - 1) * page_size if not rest else 0 :])
            page += 1
        rest = [i for i in rest if is_undated_series(i)]
        rest.sort(key=lambda item: _fair_order(item, today))
        fairs.extend(rest[: size - len(fairs)])
    return fairs, dated.total + undated


def _upcoming_fairs(
    backend: SearchBackend,
    scope: tuple[str, ...],
    hs_code: str | None,
    today: date,
    limit: int,
    lang: str = DEFAULT_LANGUAGE,
    counts: Counts | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` upcoming fairs in the order shown, and how many there are (`counts`: see
    `_soonest_fairs`).

    With a product, fairs are ranked by fit tier first: each tier's sectors are read in
    date order until the list is full, so the tiers come out exact and, within a tier, the
    soonest (the main-sector ones first among those read)."""
    fairs, total = _soonest_fairs(backend, limit, today, counts=counts, markets=scope)
    if not hs_code:
        return fairs, total
    fit = hs_sectors.product_sectors(hs_code)
    tiers: list[tuple[str, ...]] = []
    if fit is not None:
        tiers = [t for t in (fit.sectors, fit.related, (hs_sectors.GENERAL,)) if t]
    seen = {i["id"] for i in fairs}
    fitting = 0  # read from the tiers so far: once the list is full, worse tiers cannot enter
    for sectors in tiers:
        if fitting >= limit:
            break
        tier, _ = _soonest_fairs(backend, limit, today, count=False, markets=scope, sectors=sectors)
        for item in tier:
            fitting += 1
            if item["id"] not in seen:
                seen.add(item["id"])
                fairs.append(item)
    for item in fairs:
        item["matched_product"] = explained_product_reason(item, hs_code, lang)
    fairs.sort(key=lambda item: (*_fit_order(item), *_fair_order(item, today)))
    return fairs[:limit], total


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
    grouped: dict[str, list[dict[str, Any]]], today: date, lang: str = DEFAULT_LANGUAGE
) -> dict[str, list[dict[str, Any]]]:
    """What to do before shipping, from a market's requirements: `steps` (one per action:
    register, certify, label, package, standard, document, other; each with its `label` in
    `lang` and its rules as {id, title}, the product's own first) and `dates` (comment
    deadlines and dates of entry into force still ahead, soonest first: {id, title, date,
    what: "comments" | "applies", text: the date in words in `lang`})."""
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
                        {
                            "id": item["id"],
                            "title": item["title"],
                            "date": value,
                            "what": what,
                            "text": sentences.date_text(lang, what, value),
                        }
                    )
    dates.sort(key=lambda d: (d["date"], d["title"]))
    return {
        "steps": [
            {"action": a, "label": sentences.check_label(lang, a), "rules": rules}
            for a, rules in steps.items()
            if rules
        ],
        "dates": dates[:MAX_DATES],
    }


def _named(code: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    return {"code": code, "name": mk.market_name(code, lang)}


def market_overview(
    backend: SearchBackend,
    market: str,
    *,
    hs: str | None = None,
    origin: str | None = None,
    today: date | None = None,
    max_requirements: int = MAX_REQUIREMENTS,
    max_fairs: int = MAX_FAIRS,
    max_finance: int = MAX_FINANCE,
    lang: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Requirements (grouped by type), upcoming fairs and finance for one market: the first
    `max_*` of each in the order shown, and how many there are; and a checklist of what to do
    before shipping (`checklist`, from the requirements listed). Names and sentences for
    people (market names, reasons, eligibility, checklist labels) are in `lang`.

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
    limits = (max_requirements, max_fairs, max_finance)
    # Most pages are asked again before the index changes. Kept as JSON text (out of the
    # garbage collector's rounds: search/cache.py `KeptResult`), each caller gets its own copy.
    kept: bytes = kept_until_change(
        backend,
        "market-overviews",
        (code, hs_code, origin_code, today, limits, lang),
        lambda: orjson.dumps(_overview(backend, code, hs_code, origin_code, today, *limits, lang)),
        OVERVIEWS_KEPT,
    )
    overview: dict[str, Any] = orjson.loads(kept)
    return overview


def _overview(
    backend: SearchBackend,
    code: str,
    hs_code: str | None,
    origin_code: str | None,
    today: date,
    max_requirements: int,
    max_fairs: int,
    max_finance: int,
    lang: str,
) -> dict[str, Any]:
    scope = mk.expand_all([code])
    origins = mk.expand_all([origin_code]) if origin_code else ()

    grouped: dict[str, list[dict[str, Any]]] = {t: [] for t in (*REQUIREMENT_TYPES, OTHER_TYPE)}
    # repealed rules are left out (a rule may have no status: not a filter on the others)
    wanted: dict[str, Any] = {
        "kind": ("requirement",),
        "markets": scope,
        "hs": hs_code,
        "origins": origins,
    }
    # The lists are independent searches and tantivy lets go of the GIL: a page asked for
    # the first time waits for the slowest of them rather than for their sum.
    pool = _pool()
    asked_requirements = pool.submit(_first, backend, max_requirements, **wanted)
    asked_repealed = pool.submit(_first, backend, 0, **wanted, status=("repealed",))
    asked_every = pool.submit(_first, backend, 0, kind=("fair",), markets=scope)
    asked_dated = pool.submit(
        _first, backend, 0, kind=("fair",), markets=scope, date_from=MIN_RECORD_DATE
    )
    finance_wanted: dict[str, Any] = {"kind": ("finance",), "origins": origins, "hs": hs_code}
    asked_finance = [
        pool.submit(_first, backend, max_finance, **finance_wanted, sme_focus=sme)
        for sme in (True, False)
    ]

    def counts() -> tuple[int, int]:
        return asked_every.result().total, asked_dated.result().total

    # In this thread (not the pool's): it waits for the counts, and a pool thread waiting for
    # another pool task could wait forever once every thread of the pool did the same.
    fairs, fair_count = _upcoming_fairs(
        backend, scope, hs_code, today, max_fairs, lang, counts=counts
    )
    requirements = asked_requirements.result()
    repealed = asked_repealed.result().total
    for item in requirements.items:
        if item.get("status") == "repealed":
            continue
        reason = mk.match_reason(item.get("markets") or [], [code])
        if reason is not None:
            reason["name"] = mk.market_name(reason["code"], lang)
        item["matched_market"] = reason
        if hs_code:
            item["matched_product"] = explained_product_reason(item, hs_code, lang)
        grouped[item.get("requirement_type") or OTHER_TYPE].append(item)
    if hs_code:
        for items in grouped.values():  # the product's own rules first (a stable sort)
            items.sort(key=lambda i: (i.get("matched_product") or {}).get("via") != "code")

    # The same fair from several sources is one item (with every provenance); the order stays.
    fairs = duplicates.merge(fairs)

    # SME programmes first, then by name: each group read in turn up to the limit (by name
    # among those read). Destinations are not indexed: a programme restricted to other
    # destinations is left out here, and out of the count when it was read.
    destinations = set(scope)
    finance: list[dict[str, Any]] = []
    finance_count = 0
    for asked in asked_finance:
        found = asked.result()
        kept = [
            item
            for item in found.items
            if not item.get("destinations") or destinations & set(item["destinations"])
        ]
        finance.extend(kept[: max(max_finance - len(finance), 0)])
        finance_count += found.total - (len(found.items) - len(kept))
    for item in finance:
        eligibility.annotate(item, origin_code, lang)
        if hs_code:
            item["matched_product"] = explained_product_reason(item, hs_code, lang)
    finance.sort(key=lambda item: (not item.get("sme_focus"), item["title"].casefold()))

    return {
        "market": {
            "code": code,
            "name": mk.market_name(code, lang),
            "names": mk.market_names(code),
            "is_bloc": mk.is_bloc(code),
            "blocs": [_named(b, lang) for b in mk.blocs_of(code)],
            "members": [_named(m, lang) for m in mk.members(code)],
        },
        "hs": {**(products.describe(hs_code) or {}), "hierarchy": products.hierarchy(hs_code)}
        if hs_code
        else None,
        "origin": _named(origin_code, lang) if origin_code else None,
        "requirements": {t: items for t, items in grouped.items() if items},
        "checklist": checklist(grouped, today, lang),
        "requirement_count": requirements.total - repealed,
        "fairs": fairs,
        "fair_count": fair_count,
        "finance": finance,
        "finance_count": finance_count,
    }
