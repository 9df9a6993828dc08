"""The same fair from several sources, recognised when it is read: one item, every source.

Records are never merged in the store: each source keeps its own record (its provenance,
its withdrawals); pages, the API and feeds show one item per fair, listing the others in
`sources`. Two fairs are the same when their names, dates and cities are, after folding:
case, accents, punctuation, a leading year or edition ("2027 Heimtextil", "Heimtextil
2027") and a trailing "trade fair" / "fair" do not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from search_api.domain.textfold import fold_accents

_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_NOISE = re.compile(r"[^0-9a-z]+")
_SUFFIX = re.compile(r"\b(international )?(trade )?(fair|show|exhibition|expo)$")


def _fold(text: str | None) -> str:
    text = _YEAR.sub(" ", fold_accents(text or ""))
    text = _NOISE.sub(" ", text).strip()
    return _SUFFIX.sub("", text).strip()


def fair_key(item: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """What makes two fair items the same fair (name, start, end, city), None for another
    kind or a fair without a name or a place to compare."""
    if item.get("kind") != "fair":
        return None
    name, city = _fold(item.get("title")), _fold(item.get("city"))
    if not name or not (city or item.get("country")):
        return None
    start = str(item.get("start_date") or f"month-{item.get('usual_month') or ''}")
    return (name, start, str(item.get("end_date") or ""), city or str(item.get("country")))


def provenance(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("id"),
        "source_id": item.get("source_id"),
        "source_url": item.get("source_url"),
        "url": item.get("url"),
    }


def merge(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`items` in their order with each fair's duplicates from other sources folded into its
    first appearance, which gains `sources`: the provenance of every record it stands for,
    its own first. Items that are not fairs, or have no duplicate, pass unchanged."""
    out: list[dict[str, Any]] = []
    first: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for item in items:
        key = fair_key(item)
        if key is None:
            out.append(item)
            continue
        kept = first.get(key)
        if kept is None:
            first[key] = item = dict(item)  # a copy: callers' items stay as they were
            out.append(item)
            continue
        listed = kept.get("sources") or [provenance(kept)]
        if any(p["source_id"] == item.get("source_id") for p in listed):
            # One source listing two such fairs means two fairs (two halls, two editions).
            out.append(item)
            continue
        kept["sources"] = [*listed, provenance(item)]
    return out
