"""What goes into the embedded tantivy index: the schema, the analyzer, and records as documents.

`query.py` turns a search request into a query over these fields, `facets.py` counts facets and
`backend.py` manages the index on disk (generations, writers, readers)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import tantivy
from tantivy import Filter, SchemaBuilder, TextAnalyzerBuilder, Tokenizer

from search_api.domain.records import AnyRecord
from search_api.search.base import (
    FILTER_FIELDS,
    OPEN_TO_ALL,
    STEMMED_LANGUAGES,
    TEXT_FIELDS,
    record_concepts,
    record_extra_text,
    record_interval,
    record_status,
)

SCHEMA_VERSION = 9
"""Bump when the schema or the analyzer changes; an index with another version must be rebuilt."""

ANALYZER_NAME = "tp_folded"

_UNDATED_ASC = 2**62  # sorts after every real date in ascending order
_UNDATED_DESC = -(2**62)  # sorts after every real date in descending order

MAX_MONTH_TERMS = 60
"""A record spanning more months than this is indexed as `LONG` instead of month by month."""
MAX_WINDOW_MONTHS = 36
"""Date windows up to this many months are narrowed by month terms first (see `_date_filters`)."""
LONG = "long"

# Facet counting. Tantivy's terms aggregation over a multi-valued column costs ~35 ns per
# matching document, over a dense single-valued one ~1 ns: counting sectors over 600k fairs took
# 25 ms. So each multi-valued facet field also gets POSITIONS dense single-valued columns
# (`sectors@0` = the first sector, ... , `NONE` where a record has fewer), summed at query
# time. A record with more values than that has `NONE` everywhere and is listed under
# `facet_overflow`; its values are counted from the multi-valued column, over those few only.
FACET_POSITIONS = {"markets": 3, "sectors": 4, "status": 1}
NONE = "\x00"
UNTAGGED_FAIR = "fair*"
"""The `hs_codes` term of a fair without HS codes (other records without any: OPEN_TO_ALL)."""


def _build_analyzer(*, for_query: bool = False) -> tantivy.TextAnalyzer:
    # Split on non-alphanumerics, drop absurd tokens (>= 40 bytes), lowercase, fold to
    # ASCII ("Besançon" -> "besancon", "Straße" -> "strasse").
    # No stemming in these fields on purpose: the corpus is multilingual (DE/FR/ES/... fair
    # names, authority texts) and one stemmer for all conflates words across languages and
    # meanings, e.g. French "marché" and the month "March" both become "march" in English.
    # Records whose language is known are also indexed stemmed by their own language's
    # stemmer, each language in its own field (below). No stop words are removed from the
    # index: queries leave out the stop words of en/fr/es (search/request.py) unless a query
    # is nothing else, so "the" still finds a title that is just "The".
    # The query side keeps long tokens: a word too long to have been indexed then matches
    # nothing (AND semantics) instead of silently vanishing and widening the query.
    builder = TextAnalyzerBuilder(Tokenizer.simple())
    if not for_query:
        builder = builder.filter(Filter.remove_long(40))
    return builder.filter(Filter.lowercase()).filter(Filter.ascii_fold()).build()


ANALYZER = _build_analyzer()
QUERY_ANALYZER = _build_analyzer(for_query=True)

# Records written in English, French or Spanish are also indexed stemmed by their language's
# Snowball stemmer, each language in its own field (`stemmed_fr` holds only French records),
# so "étiquetages" finds a French "étiquetage" while a French query word never meets an
# English stem (search/base.py SearchBackend). Folded before stemming, as the query side and
# Elasticsearch do, so a word typed without accents stems like the accented one.
_SNOWBALL = {"en": "english", "fr": "french", "es": "spanish"}


def stemmed_field(lang: str) -> str:
    return f"stemmed_{lang}"


def _stem_analyzer(lang: str, *, for_query: bool = False) -> tantivy.TextAnalyzer:
    builder = TextAnalyzerBuilder(Tokenizer.simple())
    if not for_query:
        builder = builder.filter(Filter.remove_long(40))
    builder = builder.filter(Filter.lowercase()).filter(Filter.ascii_fold())
    return builder.filter(Filter.stemmer(_SNOWBALL[lang])).build()


STEM_ANALYZERS: dict[str, tantivy.TextAnalyzer] = {
    lang: _stem_analyzer(lang) for lang in STEMMED_LANGUAGES
}
STEM_QUERY_ANALYZERS: dict[str, tantivy.TextAnalyzer] = {
    lang: _stem_analyzer(lang, for_query=True) for lang in STEMMED_LANGUAGES
}
TOKENIZERS: dict[str, tantivy.TextAnalyzer] = {
    ANALYZER_NAME: ANALYZER,
    **{f"tp_stem_{lang}": a for lang, a in STEM_ANALYZERS.items()},
}
"""Every analyzer the schema names: registered on each index opened or created."""


def _build_schema() -> tantivy.Schema:
    sb = SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    # keyword fields: raw tokenizer, fast for terms aggregations; multi-valued
    for name in (*FILTER_FIELDS, "hs_codes"):
        sb.add_text_field(name, stored=False, fast=True, tokenizer_name="raw")
    # finance: eligible exporter countries (requirements: origins), SME flag, amounts
    for name in ("instruments", "provider_type", "eligible", "sme", "min_currency", "max_currency"):
        sb.add_text_field(name, stored=False, tokenizer_name="raw")
    # one value or none: a fast column for its facet
    sb.add_text_field(
        "language", stored=False, fast=True, tokenizer_name="raw", index_option="basic"
    )
    sb.add_float_field("min_value", indexed=True, fast=True)
    sb.add_float_field("max_value", indexed=True, fast=True)
    for name in TEXT_FIELDS:
        # "freq": BM25 needs term frequencies but we never run phrase queries.
        sb.add_text_field(name, stored=False, tokenizer_name=ANALYZER_NAME, index_option="freq")
    for lang in STEMMED_LANGUAGES:
        sb.add_text_field(
            stemmed_field(lang), stored=False, tokenizer_name=f"tp_stem_{lang}", index_option="freq"
        )
    for name, positions in FACET_POSITIONS.items():
        for i in range(positions):
            sb.add_text_field(f"{name}@{i}", stored=False, fast=True, tokenizer_name="raw")
    sb.add_text_field("facet_overflow", stored=False, tokenizer_name="raw", index_option="basic")
    # glossary concepts the record's text names (search/base.py record_concepts)
    # ("freq": a concept named often, or in the title, scores higher)
    sb.add_text_field("concepts", stored=False, tokenizer_name="raw", index_option="freq")
    sb.add_boolean_field("withdrawn", indexed=True, fast=True)
    sb.add_date_field("date_start", indexed=True, fast=True)
    sb.add_date_field("date_end", indexed=True, fast=True)
    # "YYYY-MM" of every month a record's interval touches: a date window becomes a term-set
    # query over a few posting lists before the exact range check (two range scans over every
    # dated record took 14 ms at 1M records; with the months first, 0.5 ms).
    sb.add_text_field("months", stored=False, tokenizer_name="raw", index_option="basic")
    # sort keys (day ordinals), undated records get a value that puts them last
    sb.add_integer_field("sort_asc", fast=True)
    sb.add_integer_field("sort_desc", fast=True)
    # the whole record as JSON; bytes so it is stored but never indexed
    sb.add_bytes_field("doc", stored=True, indexed=False)
    return sb.build()


SCHEMA = _build_schema()


def utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def month_terms(start: date, end: date) -> list[str]:
    """ "YYYY-MM" for each month from `start`'s to `end`'s, inclusive."""
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, last + 1)]


def _add_finance_fields(doc: tantivy.Document, record: AnyRecord) -> None:
    if record.kind == "requirement":
        origins = record.origins
    elif record.kind == "finance":
        origins = record.eligible_exporter_countries
    else:
        origins = []
    for code in origins or [OPEN_TO_ALL]:
        doc.add_text("eligible", code)
    if record.kind != "finance":
        return
    for instrument in record.instruments:
        doc.add_text("instruments", instrument)
    provider = record.provider
    if provider is not None and provider.type:
        doc.add_text("provider_type", provider.type)
    doc.add_text("sme", "yes" if record.sme_focus else "no")
    for side in ("min", "max"):
        money = getattr(record, f"{side}_amount")
        if money is not None:
            doc.add_float(f"{side}_value", float(money.value))
            doc.add_text(f"{side}_currency", money.currency)


# The column names of each facet's positions, named once rather than per document.
_FACET_COLUMNS = {
    name: tuple(f"{name}@{i}" for i in range(positions))
    for name, positions in FACET_POSITIONS.items()
}


def _add_facet_columns(doc: tantivy.Document, values: dict[str, list[str]]) -> None:
    for name, columns in _FACET_COLUMNS.items():
        present = [v for v in values[name] if v]
        if len(present) > len(columns):
            doc.add_text("facet_overflow", name)
            present = []  # NONE in every column: counted from the multi-valued one
        present += [NONE] * (len(columns) - len(present))
        for column, value in zip(columns, present, strict=True):
            doc.add_text(column, value)


def to_document(record: AnyRecord) -> tantivy.Document:
    doc = tantivy.Document()
    _add_finance_fields(doc, record)
    doc.add_text("id", record.id)
    doc.add_text("kind", record.kind)
    for m in record.markets:
        doc.add_text("markets", m)
    for s in record.sectors:
        doc.add_text("sectors", s)
    status = record_status(record)
    if status:
        doc.add_text("status", status)
    # a record without HS codes applies to every product (see SearchBackend), but a fair: it is
    # found by its sectors. One term each, so that a product filter reads one posting list
    # rather than "untagged but not a fair" (5 ms instead of 1 ms at 1M records).
    untagged = UNTAGGED_FAIR if record.kind == "fair" else OPEN_TO_ALL
    for code in record.hs_codes or [untagged]:
        doc.add_text("hs_codes", code)
    if record.language:
        doc.add_text("language", record.language)
    _add_facet_columns(
        doc, {"markets": record.markets, "sectors": record.sectors, "status": [status or ""]}
    )
    doc.add_text("title", record.title)
    if record.summary:
        doc.add_text("summary", record.summary)
    extra = record_extra_text(record)  # once: three uses below
    for part in (record.text, *extra):
        if part:
            doc.add_text("text", part)
    for concept in record_concepts(record, extra):
        doc.add_text("concepts", concept)
    if record.language in STEMMED_LANGUAGES:
        stemmed = stemmed_field(record.language)
        for part in (record.title, record.summary, record.text, *extra):
            if part:
                doc.add_text(stemmed, part)
    doc.add_boolean("withdrawn", bool(record.withdrawn))
    start, end = record_interval(record)
    if start is not None:
        doc.add_date("date_start", utc(start))
        doc.add_integer("sort_asc", start.toordinal())
        doc.add_integer("sort_desc", start.toordinal())
    else:
        doc.add_integer("sort_asc", _UNDATED_ASC)
        doc.add_integer("sort_desc", _UNDATED_DESC)
    if end is not None:
        doc.add_date("date_end", utc(end))
    if start is not None and end is not None:
        months = month_terms(start, end) if end >= start else []
        for month in months if len(months) <= MAX_MONTH_TERMS else [LONG]:
            doc.add_text("months", month)
    # the bytes `model_dump_json` decodes to its str (and .encode() would encode again)
    doc.add_bytes("doc", record.__pydantic_serializer__.to_json(record))
    return doc
