"""Pure builders of Elasticsearch request bodies (no client, no I/O), unit-tested as dicts.

`search/elastic.py` sends what these return. The semantics are those documented in
`search/base.py` and pinned by tests/contract; the comments here say how each maps to
Elasticsearch.

Index layout: one index per record kind, `{prefix}-{kind}-v{N}`, behind the alias
`{prefix}-{kind}` (writes) and the alias `{prefix}-all` over every kind (searches).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from search_api.schema import AnyRecord
from search_api.search.base import (
    FACET_FIELDS,
    FacetValue,
    SearchQuery,
    SearchResult,
    record_extra_text,
    record_interval,
)

KINDS: tuple[str, ...] = ("fair", "requirement", "finance")
ANALYZER = "tp_folded"
LANGUAGES: dict[str, str] = {"en": "english", "fr": "french", "es": "spanish"}
"""Sub-field suffix -> built-in Elasticsearch language analyzer (stemming, stop words)."""
TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "text")
TITLE_BOOST = 3
MAX_QUERY_TERMS = 32
"""Words beyond this are ignored (a 10 kB paste must not build a 2000-clause query)."""
FACET_SIZE = 1000
"""Terms-aggregation size: larger than any facet's vocabulary, so counts are exact."""
MAX_RESULT_WINDOW = 10_000
"""Elasticsearch's default `index.max_result_window`: from + size may not exceed it."""
OPEN_TO_ALL = "*"
"""`eligible` value of records without an exporter-origin restriction (as in tantivy.py)."""

_FILTER_FIELDS: tuple[str, ...] = ("kind", "markets", "sectors", "status")
_FINANCE_TERM_FIELDS: dict[str, str] = {
    "instruments": "instruments",
    "provider_types": "provider_type",
}
# Letters and digits only, like tantivy's simple tokenizer and the `tp_words` tokenizer below:
# query syntax never reaches Elasticsearch, every word is searched as a word.
_WORD = re.compile(r"[^\W_]+")

_KEYWORD: dict[str, Any] = {"type": "keyword"}
_DATE: dict[str, Any] = {"type": "date", "format": "strict_date"}


# --------------------------------------------------------------------------- index definition


def index_settings(*, building: bool = False) -> dict[str, Any]:
    """Analysis settings shared by every kind's index. `building`: no periodic refresh while a
    rebuild bulk-loads (the builder refreshes once at the end)."""
    settings: dict[str, Any] = {
        "number_of_shards": 1,
        "analysis": {
            "tokenizer": {
                # Split on anything but letters and digits: "l'agriculture" and "title:gulfood"
                # are two words each, as in the embedded backend (the standard tokenizer keeps
                # both whole).
                "tp_words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}
            },
            "analyzer": {
                # No stemming and no stop words here (see tantivy.py for why); the language
                # sub-fields add stemmed matching on top.
                ANALYZER: {
                    "type": "custom",
                    "tokenizer": "tp_words",
                    "filter": ["lowercase", "asciifolding"],
                }
            },
        },
    }
    if building:
        settings["refresh_interval"] = "-1"
    return settings


def _text_field(*, keyword: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        suffix: {"type": "text", "analyzer": analyzer} for suffix, analyzer in LANGUAGES.items()
    }
    if keyword:
        fields["keyword"] = {"type": "keyword", "ignore_above": 256}
    return {"type": "text", "analyzer": ANALYZER, "fields": fields}


def mappings(kind: str) -> dict[str, Any]:
    """Explicit mapping of one kind's index; `dynamic: strict` refuses any field not listed."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    props: dict[str, Any] = {
        "id": _KEYWORD,
        "kind": _KEYWORD,
        "markets": _KEYWORD,
        "sectors": _KEYWORD,
        "hs_codes": _KEYWORD,
        "title": _text_field(keyword=True),
        "summary": _text_field(keyword=True),
        "text": _text_field(keyword=False),
        "withdrawn": {"type": "boolean"},
        # the record as served, stored in _source but never indexed
        "record": {"type": "object", "enabled": False},
    }
    if kind in ("fair", "requirement"):
        props.update(status=_KEYWORD, date_start=_DATE, date_end=_DATE)
    if kind in ("requirement", "finance"):
        props["eligible"] = _KEYWORD
    if kind == "finance":
        props.update(
            instruments=_KEYWORD,
            provider_type=_KEYWORD,
            sme_focus={"type": "boolean"},
            min_value={"type": "double"},
            min_currency=_KEYWORD,
            max_value={"type": "double"},
            max_currency=_KEYWORD,
        )
    return {"dynamic": "strict", "properties": props}


# --------------------------------------------------------------------------- documents


def document(record: AnyRecord) -> dict[str, Any]:
    """The indexed document of a record: search fields plus the record itself (`record`)."""
    doc: dict[str, Any] = {
        "id": record.id,
        "kind": record.kind,
        "markets": list(record.markets),
        "sectors": list(record.sectors),
        "hs_codes": list(record.hs_codes),
        "title": record.title,
        "summary": record.summary,
        "text": [part for part in (record.text, *record_extra_text(record)) if part],
        "withdrawn": bool(record.withdrawn),
        "record": record.model_dump(mode="json"),
    }
    if record.kind in ("fair", "requirement"):
        doc["status"] = getattr(record, "status", None)
        start, end = record_interval(record)
        doc["date_start"] = start.isoformat() if start else None
        doc["date_end"] = end.isoformat() if end else None
    if record.kind == "requirement":
        doc["eligible"] = list(record.origins) or [OPEN_TO_ALL]  # type: ignore[union-attr]
    if record.kind == "finance":
        doc["eligible"] = list(record.eligible_exporter_countries) or [  # type: ignore[union-attr]
            OPEN_TO_ALL
        ]
        doc["instruments"] = list(record.instruments)  # type: ignore[union-attr]
        provider = record.provider  # type: ignore[union-attr]
        doc["provider_type"] = provider.type if provider is not None else None
        doc["sme_focus"] = bool(record.sme_focus)  # type: ignore[union-attr]
        for side in ("min", "max"):
            money = getattr(record, f"{side}_amount")
            doc[f"{side}_value"] = float(money.value) if money is not None else None
            doc[f"{side}_currency"] = money.currency if money is not None else None
    return doc


def index_name(prefix: str, kind: str, version: int) -> str:
    return f"{prefix}-{kind}-v{version}"


def kind_alias(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}"


def read_alias(prefix: str) -> str:
    return f"{prefix}-all"


def bulk_index_ops(
    records: Iterable[AnyRecord], target: dict[str, str], *, cross_kind_deletes: bool = True
) -> list[dict[str, Any]]:
    """Bulk body indexing each record into `target[kind]` (an alias or an index name) and, with
    `cross_kind_deletes`, removing its id from the other kinds' indices, so a record that
    changed kind is not found twice. The last version of a repeated id wins."""
    latest = {r.id: r for r in records}
    ops: list[dict[str, Any]] = []
    for rid, record in latest.items():
        ops.append({"index": {"_index": target[record.kind], "_id": rid}})
        ops.append(document(record))
        ops.extend(
            {"delete": {"_index": target[kind], "_id": rid}}
            for kind in KINDS
            if cross_kind_deletes and kind != record.kind and kind in target
        )
    return ops


def bulk_delete_ops(ids: Sequence[str], targets: Iterable[str]) -> list[dict[str, Any]]:
    """Bulk body deleting each id from every target (the kind of an id is not known here)."""
    names = list(targets)
    return [{"delete": {"_index": t, "_id": rid}} for rid in dict.fromkeys(ids) for t in names]


def swap_actions(
    prefix: str, old: dict[str, str], new: dict[str, str], building_alias: str
) -> list[dict[str, Any]]:
    """One `_aliases` body moving the kind and read aliases from `old` to `new` indices (per
    kind) and dropping the rebuild marker. `must_exist` makes the whole call fail, changing
    nothing, when another process moved an alias meanwhile."""
    actions: list[dict[str, Any]] = []
    for kind in KINDS:
        for alias in (kind_alias(prefix, kind), read_alias(prefix)):
            if kind in old:
                actions.append({"remove": {"index": old[kind], "alias": alias, "must_exist": True}})
            actions.append({"add": {"index": new[kind], "alias": alias}})
        actions.append(
            {"remove": {"index": new[kind], "alias": building_alias, "must_exist": True}}
        )
    return actions


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
    fields = []
    for name in TEXT_FIELDS:
        boost = f"^{TITLE_BOOST}" if name == "title" else ""
        if languages:
            fields.extend(f"{name}.{suffix}{boost}" for suffix in LANGUAGES)
        else:
            fields.append(f"{name}{boost}")
    return fields


def text_clauses(q: str | None) -> list[dict[str, Any]]:
    """One required clause per word: the word must match (folded, unstemmed) in some text
    field, as in the embedded backend, so both backends find the same records; scores add up
    across fields (most_fields)."""
    fields = _fields(languages=False)
    return [
        {"multi_match": {"query": word, "type": "most_fields", "fields": fields}}
        for word in query_words(q)
    ]


def language_clause(q: str | None) -> dict[str, Any] | None:
    """An optional clause over the English/French/Spanish sub-fields: it ranks records whose
    words match the query's once stemmed ("guarantees" for "guarantee") higher but never
    widens the result set, which stays the one the embedded backend returns."""
    words = query_words(q)
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


def hs_filter(hs: str) -> dict[str, Any]:
    """Records tagged with a prefix of the code ("09" for "090121") or with a code the asked
    one is a prefix of ("090111" for "09")."""
    code = "".join(ch for ch in hs if not ch.isspace() and ch != ".")
    if not code or not code.isascii() or not code.isdigit():
        return {"match_none": {}}
    prefixes = [code[:i] for i in range(1, len(code) + 1)]
    return {
        "bool": {
            "should": [
                {"terms": {"hs_codes": prefixes}},
                {"prefix": {"hs_codes": code}},
            ],
            "minimum_should_match": 1,
        }
    }


def _outside(field: str, bound: dict[str, float], currency_field: str, currency: str | None):
    out: dict[str, Any] = {"range": {field: bound}}
    if currency:
        return {"bool": {"filter": [out, {"term": {currency_field: currency.upper()}}]}}
    return out


def finance_filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    for attr, field in _FINANCE_TERM_FIELDS.items():
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
    for field in _FILTER_FIELDS:
        values = _clean(getattr(query, field), upper=field == "markets")
        if values:
            filters.append({"terms": {field: values}})
    if query.hs is not None and query.hs.strip():
        filters.append(hs_filter(query.hs))
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
    must = text_clauses(query.q)
    if must:
        bool_query["must"] = must
        bool_query["should"] = [language_clause(query.q)]
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
    if sort == "relevance" and not query_words(query.q):
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
        body["aggs"] = {
            field: {"terms": {"field": field, "size": FACET_SIZE}} for field in FACET_FIELDS
        }
    return body


def parse_search(body: dict[str, Any]) -> SearchResult:
    """A `_search` response as a SearchResult: records from `_source.record`, facets sorted by
    count then value, empty buckets dropped."""
    hits = body.get("hits") or {}
    total = hits.get("total") or {}
    count = total.get("value", 0) if isinstance(total, dict) else int(total)
    items = [hit["_source"]["record"] for hit in hits.get("hits") or []]
    facets: dict[str, list[FacetValue]] = {}
    aggs = body.get("aggregations") or {}
    for field in FACET_FIELDS:
        if field not in aggs:
            continue
        pairs = sorted(
            (
                (str(b["key"]), int(b["doc_count"]))
                for b in aggs[field].get("buckets") or []
                if b.get("doc_count", 0) > 0
            ),
            key=lambda kv: (-kv[1], kv[0]),
        )
        facets[field] = [FacetValue(value=v, count=c) for v, c in pairs]
    return SearchResult(total=int(count), items=items, facets=facets)
