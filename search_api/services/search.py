"""Searching: what the JSON API, the web pages, feeds and digests all call.

A search arrives as a `SearchRequest` (search/request.py), validated once; these functions run
it and shape what every caller shows the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson

from search_api.domain import duplicates, eligibility, hs_sectors, sentences
from search_api.domain import markets as mk
from search_api.domain.i18n import DEFAULT_LANGUAGE, gettext, language_name_in
from search_api.domain.records import AnyRecord, parse_record
from search_api.errors import NotFound, TradepointError
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.search.cache import memo_search
from search_api.store import Store
from search_api.store.watch import page_watch, watch_view

PAGE_SIZE = 100
"""Records per backend call when a caller reads every match (feeds, market pages)."""


def product_reason(item: dict[str, Any], hs: str) -> dict[str, Any] | None:
    """Why a record matched the product `hs` (see SearchBackend): through one of its codes
    (`via: "code"`, with those codes), because it has none and so applies to every product
    (`"all_products"`), or, for a fair, through its sectors (`"sector"`, with how well they
    fit: `fit` is product, related, general or other, and the `sectors` that make it)."""
    codes = item.get("hs_codes") or []
    related = [c for c in codes if c.startswith(hs) or hs.startswith(c)]
    if related:
        return {"hs": hs, "via": "code", "codes": related, "fit": "product"}
    if item.get("kind") == "fair":
        fit = hs_sectors.fit(item.get("sectors") or [], hs)
        return {"hs": hs, "via": "sector", "fit": fit.tier, "sectors": list(fit.sectors)}
    if not codes:
        return {"hs": hs, "via": "all_products"}
    return None


def explained_product_reason(
    item: dict[str, Any], hs: str, lang: str = DEFAULT_LANGUAGE
) -> dict[str, Any] | None:
    """`product_reason` with `text`, the reason in words in `lang` (domain/sentences.py)."""
    reason = product_reason(item, hs)
    if reason is not None:
        reason["text"] = sentences.product_text(lang, reason)
    return reason


def annotate(items: list[dict[str, Any]], query: SearchQuery, lang: str = DEFAULT_LANGUAGE) -> None:
    """Say why each item matched: `matched_market` with a market filter ({"market": asked,
    "code": the record's market, "via": "direct" | "bloc" | "member"}), `matched_product`
    with a product (`explained_product_reason`); finance items say who may apply
    (`eligibility`, `eligibility_summary`, for the exporter's country when `origin` was
    asked). Sentences are in `lang`."""
    asked = getattr(query, "asked_markets", ())
    origin = getattr(query, "asked_origin", None)
    for item in items:
        eligibility.annotate(item, origin, lang)
        if asked:
            item["matched_market"] = mk.match_reason(item.get("markets") or [], asked)
        if query.hs:
            item["matched_product"] = explained_product_reason(item, query.hs, lang)


def search(
    backend: SearchBackend,
    query: SearchQuery,
    lang: str = DEFAULT_LANGUAGE,
    *,
    keep: bool = False,
) -> SearchResult:
    """Run a search; each item says why it matched (`annotate`, in `lang`). The same fair
    from several sources is one item on a page, with the provenance of each in `sources`
    (domain/duplicates.py); `total` still counts records. With `keep`, the backend's answer
    is kept until the index changes and reused (search/cache.py `memo_search`; the web
    pages: the JSON API keeps its encoded answers itself)."""
    result = memo_search(backend, query) if keep else backend.search(query)
    result.items = duplicates.merge(result.items)
    annotate(result.items, query, lang)
    return result


def record_languages(backend: SearchBackend) -> dict[str, int] | None:
    """How many records are in each language, on the index state searches see now (kept in
    the backend's memo until the index changes); None when the index cannot tell."""
    memo = backend.memo()
    if memo is not None and "record_languages" in memo:
        known: dict[str, int] | None = memo["record_languages"]
        return known
    try:
        result = backend.search(SearchQuery(size=0, facets=True))
    except TradepointError:
        return None
    counts = {f.value: f.count for f in result.facets.get("language", [])}
    if memo is not None:
        memo["record_languages"] = counts
    return counts


def language_notices(
    backend: SearchBackend, languages: tuple[str, ...], lang: str = DEFAULT_LANGUAGE
) -> list[dict[str, Any]]:
    """The one rule of `lang` (the API's and saved searches' parameter, the web pages'
    `language`): it must name a language (ISO 639 code, tag or name; otherwise a 400 naming
    it, search/request.py); a language no record is written in is accepted (records in it
    may come) and the answer says so, with the languages records are in, instead of
    answering 0 silently. Each notice: {code, field, language, languages, message}, the
    message in the answer's language `lang` (the records' language is a filter, not that)."""
    if not languages:
        return []
    present = record_languages(backend)
    if present is None:
        return []
    have = sorted(present, key=lambda code: (-present[code], code))
    listed = ", ".join(f"{language_name_in(lang, c)} ({c})" for c in have) or "–"
    return [
        {
            "code": "no_records_in_language",
            "field": "lang",
            "language": code,
            "languages": have,
            "message": "lang: "
            + gettext(
                lang,
                sentences.NO_RECORDS_IN,
                language=f"{language_name_in(lang, code)} ({code})",
                languages=listed,
            ),
        }
        for code in languages
        if code not in present
    ]


def encoded(backend: SearchBackend, query: SearchQuery, lang: str = DEFAULT_LANGUAGE) -> bytes:
    """The JSON answer of `GET /api/v1/search`, serialised directly: the backend's items are
    plain JSON values already, and validating them again would cost more than the search.
    `notices` (only when there are some) say why an answer may be empty (`language_notices`).
    Sentences for people are in `lang`."""
    result = search(backend, query, lang)
    payload: dict[str, Any] = {
        "total": result.total,
        "page": query.page,
        "size": query.size,
        "items": result.items,
        "facets": result.facets,  # FacetValue dataclasses: orjson writes them as objects
    }
    notices = language_notices(backend, query.languages, lang)
    if notices:
        payload["notices"] = notices
    return orjson.dumps(payload)


def upcoming_fairs(
    backend: SearchBackend, today: date, size: int = 20, page: int = 1, **filters: Any
) -> SearchResult:
    query = SearchQuery(
        kind=("fair",), date_from=today, sort="date", size=size, page=page, **filters
    )
    return backend.search(query)


def every_item(backend: SearchBackend, query: SearchQuery, limit: int) -> Iterator[dict[str, Any]]:
    """Every match of `query` (in its order) up to `limit`, paging through the backend."""
    size = min(PAGE_SIZE, limit)
    page, seen = 1, 0
    while seen < limit:
        q = query.model_copy(update={"page": page, "size": size, "facets": False})
        result = backend.search(q)
        for item in result.items[: limit - seen]:
            yield item
            seen += 1
        if not result.items or page * size >= result.total:
            return
        page += 1


def every_record(backend: SearchBackend, query: SearchQuery, limit: int) -> list[AnyRecord]:
    return [parse_record(item) for item in every_item(backend, query, limit)]


def get_record(store: Store, record_id: str) -> AnyRecord:
    record = store.get_record(record_id)
    if record is None:
        raise NotFound(f"record {record_id!r} not found")
    return record


def record_view(store: Store, record: AnyRecord, lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """A record as the API and web pages show it: its fields, and what the change watch last
    found on its official page (`official_page`: checked_on, changed_on, similarity; null when
    the page is not watched); a finance record says who may apply (`eligibility`, in `lang`)."""
    view = {
        **record.model_dump(mode="json"),
        "official_page": watch_view(page_watch(store, record.id)),
    }
    eligibility.annotate(view, None, lang)
    return view


MAX_SAME_FAIR = 200
"""Most fairs read to find the other listings of one fair (those in its country, or on its
dates)."""


def same_fair(backend: SearchBackend, item: dict[str, Any]) -> list[dict[str, Any]]:
    """Other sources' records of the fair `item` (domain/duplicates.py), as provenance
    entries ({id, source_id, source_url, url}); [] for other kinds."""
    key = duplicates.fair_key(item)
    if key is None:
        return []
    filters: dict[str, Any] = {"kind": ("fair",)}
    if item.get("country"):
        filters["markets"] = (item["country"],)
    if item.get("start_date"):
        start = date.fromisoformat(item["start_date"])
        filters.update(date_from=start, date_to=start)
    query = SearchQuery(facets=False, **filters)
    return [
        duplicates.provenance(other)
        for other in every_item(backend, query, MAX_SAME_FAIR)
        if other.get("source_id") != item.get("source_id") and duplicates.fair_key(other) == key
    ]
