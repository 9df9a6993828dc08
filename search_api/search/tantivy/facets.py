"""Facet counts over the dense facet columns (see `schema.FACET_POSITIONS`)."""

from __future__ import annotations

from collections import Counter

import tantivy
from tantivy import Occur, Query

from search_api.search.base import FACET_FIELDS, FACET_SIZE, FacetValue
from search_api.search.tantivy.schema import FACET_POSITIONS, NONE, SCHEMA


def facet_counts(searcher: tantivy.Searcher, tq: Query) -> dict[str, list[FacetValue]]:
    columns = {f"{name}@{i}": name for name, n in FACET_POSITIONS.items() for i in range(n)}
    columns.update({f: f for f in FACET_FIELDS if f not in FACET_POSITIONS})
    raw = searcher.aggregate(tq, {c: {"terms": {"field": c, "size": FACET_SIZE}} for c in columns})
    counts: dict[str, Counter[str]] = {f: Counter() for f in FACET_FIELDS}
    for column, field in columns.items():
        for b in raw.get(column, {}).get("buckets", []):
            counts[field][str(b["key"])] += int(b["doc_count"])
    for field in FACET_POSITIONS:
        if searcher.doc_freq("facet_overflow", field):
            few = Query.boolean_query(
                [
                    (Occur.Must, tq),
                    (Occur.Must, Query.term_query(SCHEMA, "facet_overflow", field)),
                ]
            )
            spec = {field: {"terms": {"field": field, "size": FACET_SIZE}}}
            for b in searcher.aggregate(few, spec).get(field, {}).get("buckets", []):
                counts[field][str(b["key"])] += int(b["doc_count"])
    out: dict[str, list[FacetValue]] = {}
    for field in FACET_FIELDS:
        pairs = sorted(
            ((v, c) for v, c in counts[field].items() if c > 0 and v != NONE),
            key=lambda kv: (-kv[1], kv[0]),
        )
        out[field] = [FacetValue(value=v, count=c) for v, c in pairs]
    return out
