"""Pure builders of the Elasticsearch indices (no client, no I/O), unit-tested as dicts:
settings and mappings, records as documents, index and alias names, bulk and alias actions.

Index layout: one index per record kind, `{prefix}-{kind}-v{N}`, behind the alias
`{prefix}-{kind}` (writes) and the alias `{prefix}-all` over every kind (searches).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from search_api.domain import glossary
from search_api.domain.records import KINDS, AnyRecord
from search_api.search.base import (
    OPEN_TO_ALL,
    STEMMED_LANGUAGES,
    record_concepts,
    record_extra_text,
    record_interval,
    record_status,
)

log = logging.getLogger(__name__)

MAPPING_VERSION = 3
"""Bump when the mapping or the analysis changes in a way an index cannot take in place (an
analyzer, a field's type): indices with another version in their `_meta` are rebuilt (see
`ElasticBackend.needs_rebuild`). 2: stemmed_<lang> fields and their Snowball analyzers, and
the glossary concepts (`_meta.glossary`: indices tagged with another glossary are rebuilt)."""
ANALYZER = "tp_folded"
LANGUAGES: dict[str, str] = {"en": "english", "fr": "french", "es": "spanish"}
"""Sub-field suffix -> built-in Elasticsearch language analyzer (stemming, stop words)."""
_SNOWBALL = {"en": "English", "fr": "French", "es": "Spanish"}


def stemmed_field(lang: str) -> str:
    """The field holding a record's text stemmed by its language's Snowball stemmer, filled
    only for records in that language (search/base.py SearchBackend, as tantivy does)."""
    return f"stemmed_{lang}"


_KEYWORD: dict[str, Any] = {"type": "keyword"}
_DATE: dict[str, Any] = {"type": "date", "format": "strict_date"}


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
            # Snowball, as tantivy's stemmer filter, after folding as there (and as the
            # query side does): the same words meet the same stems in both backends
            "filter": {
                f"tp_snowball_{lang}": {"type": "snowball", "language": _SNOWBALL[lang]}
                for lang in STEMMED_LANGUAGES
            },
            "analyzer": {
                # No stemming and no stop words here (see tantivy.py for why); the language
                # sub-fields add stemmed matching on top.
                ANALYZER: {
                    "type": "custom",
                    "tokenizer": "tp_words",
                    "filter": ["lowercase", "asciifolding"],
                },
                **{
                    f"tp_stem_{lang}": {
                        "type": "custom",
                        "tokenizer": "tp_words",
                        "filter": ["lowercase", "asciifolding", f"tp_snowball_{lang}"],
                    }
                    for lang in STEMMED_LANGUAGES
                },
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
        "language": _KEYWORD,
        # text, not keyword: a concept named often, or in the title, scores higher
        "concepts": {"type": "text", "analyzer": "whitespace"},
        "title": _text_field(keyword=True),
        "summary": _text_field(keyword=True),
        "text": _text_field(keyword=False),
        "withdrawn": {"type": "boolean"},
        **{
            stemmed_field(lang): {"type": "text", "analyzer": f"tp_stem_{lang}"}
            for lang in STEMMED_LANGUAGES
        },
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
    return {
        "dynamic": "strict",
        "_meta": {"tradepoint_mapping": MAPPING_VERSION, "glossary": glossary.glossary().digest},
        "properties": props,
    }


# --------------------------------------------------------------------------- documents


def document(record: AnyRecord) -> dict[str, Any]:
    """The indexed document of a record: search fields plus the record itself (`record`)."""
    doc: dict[str, Any] = {
        "id": record.id,
        "kind": record.kind,
        "markets": list(record.markets),
        "sectors": list(record.sectors),
        "hs_codes": list(record.hs_codes),
        "language": record.language,
        "concepts": " ".join(record_concepts(record)),
        "title": record.title,
        "summary": record.summary,
        "text": [part for part in (record.text, *record_extra_text(record)) if part],
        "withdrawn": bool(record.withdrawn),
        "record": record.model_dump(mode="json"),
    }
    if record.language in STEMMED_LANGUAGES:
        doc[stemmed_field(record.language)] = [
            part
            for part in (record.title, record.summary, record.text, *record_extra_text(record))
            if part
        ]
    if record.kind in ("fair", "requirement"):
        doc["status"] = record_status(record)
        start, end = record_interval(record)
        doc["date_start"] = start.isoformat() if start else None
        doc["date_end"] = end.isoformat() if end else None
    if record.kind == "requirement":
        doc["eligible"] = list(record.origins) or [OPEN_TO_ALL]
    if record.kind == "finance":
        doc["eligible"] = list(record.eligible_exporter_countries) or [OPEN_TO_ALL]
        doc["instruments"] = list(record.instruments)
        provider = record.provider
        doc["provider_type"] = provider.type if provider is not None else None
        doc["sme_focus"] = bool(record.sme_focus)
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
    records: Iterable[AnyRecord],
    target: dict[str, str],
    *,
    cross_kind_deletes: bool = True,
    failed: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Bulk body indexing each record into `target[kind]` (an alias or an index name) and, with
    `cross_kind_deletes`, removing its id from the other kinds' indices, so a record that
    changed kind is not found twice. The last version of a repeated id wins.

    A record whose document cannot be built is left out (its id deleted everywhere, so no
    older version stays findable) and reported in `failed`, id -> why; the others go on."""
    latest = {r.id: r for r in records}
    ops: list[dict[str, Any]] = []
    for rid, record in latest.items():
        try:
            doc = document(record)
        except Exception as exc:  # this record's, whatever it is: the others go on
            why = f"record {rid!r} could not be indexed: {type(exc).__name__}: {exc}"[:1000]
            log.warning("%s", why)
            if failed is not None:
                failed[rid] = why
            ops.extend({"delete": {"_index": t, "_id": rid}} for t in target.values())
            continue
        ops.append({"index": {"_index": target[record.kind], "_id": rid}})
        ops.append(doc)
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
