"""Pure builders of Elasticsearch search bodies (no client, no I/O), unit-tested as dicts.

`backend.py` sends what these return; `mapping.py` defines the indices they search and
`facets.py` the aggregations. The semantics are those documented in `search/base.py` and pinned
by tests/contract; the comments here say how each maps to Elasticsearch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from search_api.search.base import (
    FILTER_FIELDS,
    FINANCE_TERM_FIELDS,
    MAX_QUERY_TERMS,
    MAX_RESULT_WINDOW,
    OPEN_TO_ALL,
    TEXT_FIELDS,
    TITLE_BOOST,
    Phrase,
    SearchQuery,
    SearchResult,
    stem_languages,
    text_groups,
)
from search_api.search.elastic.facets import aggregations, parse_facets
from search_api.search.elastic.mapping import LANGUAGES, stemmed_field

# Letters and digits only, like tantivy's simple tokenizer and the `tp_words` tokenizer below:
# query syntax never reaches Elasticsearch, every word is searched as a word.
_WORD = re.compile(r"[^\W_]+")


# --------------------------------------------------------------------------- search


def query_words(q: str | None) -> list[str]:
    """The words of a free-text query (letters and digits), first occurrences, at most
    MAX_QUERY_TERMS; never raises. `title:foo AND (` is the three words title, foo, AND."""
    if not q:
        return []
    seen: dict[str, str] = {}
    for word in _WORD.findall(q):
        seen.setdefault(word.casefold(), word)
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen.values())


def _fields(*, languages: bool) -> list[str]:
    fields: list[str] = []
    for name in TEXT_FIELDS:
        boost = f"^{TITLE_BOOST:g}" if name == "title" else ""
        if languages:
            fields.extend(f"{name}.{suffix}{boost}" for suffix in LANGUAGES)
        else:
            fields.append(f"{name}{boost}")
    return fields


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _word_clause(word: str, languages: tuple[str, ...]) -> dict[str, Any]:
    """A word folded (unstemmed) in some text field, scores adding up across fields, or
    stemmed in the fields of `languages` (base.stem_languages)."""
    options: list[dict[str, Any]] = [
        {"multi_match": {"query": word, "type": "most_fields", "fields": _fields(languages=False)}}
    ]
    for lang in languages:
        options.append({"match": {stemmed_field(lang): word}})
    return _any(options)


def _phrase_clause(phrase: Phrase) -> dict[str, Any]:
    if phrase.concept:
        return {"term": {"concepts": phrase.concept}}
    languages = stem_languages(phrase)
    words = [_word_clause(w, languages) for w in phrase.words]
    return words[0] if len(words) == 1 else {"bool": {"must": words}}


def text_clauses(query: SearchQuery | str | None) -> list[dict[str, Any]]:
    """One required clause per group of the query's text (search/base.py SearchBackend): any
    one of its phrases, each of whose words must be found, as in the embedded backend, so both
    backends find the same records."""
    if not isinstance(query, SearchQuery):
        query = SearchQuery(q=query)
    return [_any([_phrase_clause(p) for p in group]) for group in text_groups(query)]


def language_clause(query: SearchQuery | str | None) -> dict[str, Any] | None:
    """An optional clause over the English/French/Spanish sub-fields: it ranks records whose
    words match the query's (as typed: the first phrase of each group) once stemmed
    ("guarantees" for "guarantee") higher but never widens the result set, which stays the
    one the embedded backend returns."""
    if not isinstance(query, SearchQuery):
        query = SearchQuery(q=query)
    words = list(dict.fromkeys(w for group in text_groups(query) for w in group[0].words))
    if not words:
        return None
    return {
        "multi_match": {
            "query": " ".join(words),
            "type": "most_fields",
            "fields": _fields(languages=True),
        }
    }


def _clean(values: Iterable[str], *, upper: bool = False) -> list[str]:
    out = [v.strip().upper() if upper else v.strip() for v in values if v and v.strip()]
    return list(dict.fromkeys(out))


def hs_filter(hs: str, sectors: Iterable[str] = ()) -> dict[str, Any]:
    """Records tagged with a prefix of the code ("09" for "090121") or with a code the asked
    one is a prefix of ("090111" for "09"); records without HS codes but fairs (they apply to
    every product); fairs without HS codes in one of `sectors` (see SearchBackend)."""
    code = "".join(ch for ch in hs if not ch.isspace() and ch != ".")
    if not code or not code.isascii() or not code.isdigit():
        return {"match_none": {}}
    prefixes = [code[:i] for i in range(1, len(code) + 1)]
    untagged = {"exists": {"field": "hs_codes"}}  # an empty list indexes no value
    fair = {"term": {"kind": "fair"}}
    should: list[dict[str, Any]] = [
        {"terms": {"hs_codes": prefixes}},
        {"prefix": {"hs_codes": code}},
        {"bool": {"must_not": [untagged, fair]}},
    ]
    wanted = _clean(sectors)
    if wanted:
        should.append(
            {
                "bool": {
                    "filter": [fair, {"terms": {"sectors": wanted}}],
                    "must_not": [untagged],
                }
            }
        )
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _outside(
    field: str, bound: dict[str, float], currency_field: str, currency: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"range": {field: bound}}
    if currency:
        return {"bool": {"filter": [out, {"term": {currency_field: currency.upper()}}]}}
    return out


def finance_filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    for attr, field in FINANCE_TERM_FIELDS.items():
        values = _clean(getattr(query, attr))
        if values:
            filters.append({"terms": {field: values}})
    origins = _clean(query.origins, upper=True)
    if origins:
        # fairs have no `eligible` field but match: origins do not restrict them
        filters.append(
            {
                "bool": {
                    "should": [
                        {"terms": {"eligible": [*origins, OPEN_TO_ALL]}},
                        {"term": {"kind": "fair"}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    if query.sme_focus is not None:
        filters.append({"term": {"sme_focus": query.sme_focus}})
    amount_min, amount_max = query.amount_min, query.amount_max
    if amount_min is not None or amount_max is not None:
        # Overlap of [min_amount, max_amount] with the asked range: exclude programmes whose
        # minimum is above the range or whose maximum is below it (in the asked currency).
        currency = query.currency
        must_not = []
        if amount_max is not None:
            must_not.append(
                _outside("min_value", {"gt": float(amount_max)}, "min_currency", currency)
            )
        if amount_min is not None:
            must_not.append(
                _outside("max_value", {"lt": float(amount_min)}, "max_currency", currency)
            )
        filters.append({"bool": {"filter": [{"term": {"kind": "finance"}}], "must_not": must_not}})
    return filters


def filter_clauses(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    for field in FILTER_FIELDS:
        values = _clean(getattr(query, field), upper=field == "markets")
        if values:
            filters.append({"terms": {field: values}})
    languages = _clean(query.languages)
    if languages:
        filters.append({"terms": {"language": languages}})
    if query.hs is not None and query.hs.strip():
        filters.append(hs_filter(query.hs, query.hs_sectors))
    filters.extend(finance_filters(query))
    if query.date_from and query.date_to and query.date_from > query.date_to:
        filters.append({"match_none": {}})
    # overlap of [date_start, date_end] with the asked range; undated records have neither
    if query.date_from:
        filters.append({"range": {"date_end": {"gte": query.date_from.isoformat()}}})
    if query.date_to:
        filters.append({"range": {"date_start": {"lte": query.date_to.isoformat()}}})
    return filters


def build_query(query: SearchQuery) -> dict[str, Any]:
    """The `query` part: words select and score (must), stemmed words only score (should),
    filters do not score (filter)."""
    bool_query: dict[str, Any] = {}
    must = text_clauses(query)
    if must:
        bool_query["must"] = must
        ranking = language_clause(query)
        if ranking is not None:
            bool_query["should"] = [ranking]
    filters = filter_clauses(query)
    if filters:
        bool_query["filter"] = filters
    if not query.include_withdrawn:
        bool_query["must_not"] = [{"term": {"withdrawn": True}}]
    if not bool_query:
        return {"match_all": {}}
    return {"bool": bool_query}


def build_sort(query: SearchQuery) -> list[Any]:
    """Relevance (when there are words), else by start date with undated records last in
    both directions; `id` breaks ties so pages never overlap."""
    sort = query.sort
    if sort == "relevance" and not text_groups(query):
        sort = "date"
    tie = {"id": {"order": "asc"}}
    if sort == "relevance":
        return [{"_score": {"order": "desc"}}, tie]
    order = "desc" if sort == "-date" else "asc"
    # finance indices have no date_start: unmapped_type lets one sort span every kind
    return [{"date_start": {"order": order, "missing": "_last", "unmapped_type": "date"}}, tie]


def build_search(query: SearchQuery) -> dict[str, Any]:
    """The whole `_search` body for `query` against the read alias."""
    offset = query.offset
    size = query.size
    if offset >= MAX_RESULT_WINDOW:
        # past the window Elasticsearch refuses the request; answer with the total only
        offset, size = 0, 0
    else:
        size = min(size, MAX_RESULT_WINDOW - offset)
    body: dict[str, Any] = {
        "query": build_query(query),
        "sort": build_sort(query),
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "_source": ["record"],
    }
    if query.facets:
        body["aggs"] = aggregations()
    return body


def parse_search(body: dict[str, Any]) -> SearchResult:
    """A `_search` response as a SearchResult: records from `_source.record`, facets sorted by
    count then value, empty buckets dropped."""
    hits = body.get("hits") or {}
    total = hits.get("total") or {}
    count = total.get("value", 0) if isinstance(total, dict) else int(total)
    items = [hit["_source"]["record"] for hit in hits.get("hits") or []]
    return SearchResult(
        total=int(count), items=items, facets=parse_facets(body.get("aggregations") or {})
    )
