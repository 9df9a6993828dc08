"""Facets as Elasticsearch terms aggregations, and their buckets as FacetValues."""

from __future__ import annotations

from typing import Any

from search_api.search.base import FACET_FIELDS, FACET_SIZE, FacetValue


def aggregations() -> dict[str, Any]:
    return {field: {"terms": {"field": field, "size": FACET_SIZE}} for field in FACET_FIELDS}


def parse_facets(aggs: dict[str, Any]) -> dict[str, list[FacetValue]]:
    """Buckets sorted by count then value, empty ones dropped (as tantivy's facets)."""
    facets: dict[str, list[FacetValue]] = {}
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
    return facets
