"""What goes into the embedded tantivy index and how it is asked: the schema and analyzer,
records as documents, search requests as queries, and facet counts. `tantivy.py` manages the
index on disk (generations, writers, readers) and uses these."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import tantivy
from tantivy import Filter, Occur, Query, SchemaBuilder, TextAnalyzerBuilder, Tokenizer

from search_api.domain.records import AnyRecord
from search_api.search.base import (
    FACET_FIELDS,
    FacetValue,
    SearchQuery,
    record_extra_text,
    record_interval,
)

SCHEMA_VERSION = 6
"""Bump when the schema or the analyzer changes; an index with another version must be rebuilt."""

ANALYZER_NAME = "tp_folded"

TITLE_BOOST = 3.0
MAX_QUERY_TERMS = 32
"""Words beyond this are ignored (a 10 kB paste must not build a 2000-clause query)."""
FACET_SIZE = 10_000
"""Terms-aggregation size: larger than any facet's vocabulary, so counts are exact."""


_UNDATED_ASC = 2**62  # sorts after every real date in ascending order
_UNDATED_DESC = -(2**62)  # sorts after every real date in descending order

FILTER_FIELDS = ("kind", "markets", "sectors", "status")
# query attribute -> keyword field, for finance filters (OR within, AND across)
FINANCE_TERM_FIELDS = {"instruments": "instruments", "provider_types": "provider_type"}
_OPEN_TO_ALL = "*"
"""`eligible` token of records without an origin restriction (fairs, empty lists)."""
_TEXT_FIELDS = ("title", "summary", "text")
MAX_MONTH_TERMS = 60
"""A record spanning more months than this is indexed as `_LONG` instead of month by month."""
MAX_WINDOW_MONTHS = 36
"""Date windows up to this many months are narrowed by month terms first (see `_date_filters`)."""
_LONG = "long"

# Facet counting. Tantivy's terms aggregation over a multi-valued column costs ~35 ns per
# matching document, over a dense single-valued one ~1 ns: counting sectors over 600k fairs took
# 25 ms. So each multi-valued facet field also gets POSITIONS dense single-valued columns
# (`sectors@0` = the first sector, ... , `_NONE` where a record has fewer), summed at query
# time. A record with more values than that has `_NONE` everywhere and is listed under
# `facet_overflow`; its values are counted from the multi-valued column, over those few only.
_FACET_POSITIONS = {"markets": 3, "sectors": 4, "status": 1}
_NONE = "\x00"


def _build_analyzer(*, for_query: bool = False) -> tantivy.TextAnalyzer:
    # Split on non-alphanumerics, drop absurd tokens (>= 40 bytes), lowercase, fold to
    # ASCII ("Besançon" -> "besancon", "Straße" -> "strasse").
    # No stemming on purpose: the corpus is multilingual (DE/FR/ES/... fair names, authority
    # texts) and the English Snowball stemmer conflates words across languages and meanings,
    # e.g. French "marché" and the month "March" both become "march", which hurts precision
    # on a fair calendar. No stop words either, so "The Big Five" still finds its title.
    # The query side keeps long tokens: a word too long to have been indexed then matches
    # nothing (AND semantics) instead of silently vanishing and widening the query.
    builder = TextAnalyzerBuilder(Tokenizer.simple())
    if not for_query:
        builder = builder.filter(Filter.remove_long(40))
    return builder.filter(Filter.lowercase()).filter(Filter.ascii_fold()).build()


ANALYZER = _build_analyzer()
_QUERY_ANALYZER = _build_analyzer(for_query=True)


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
    for name in _TEXT_FIELDS:
        # "freq": BM25 needs term frequencies but we never run phrase queries.
        sb.add_text_field(name, stored=False, tokenizer_name=ANALYZER_NAME, index_option="freq")
    for name, positions in _FACET_POSITIONS.items():
        for i in range(positions):
            sb.add_text_field(f"{name}@{i}", stored=False, fast=True, tokenizer_name="raw")
    sb.add_text_field("facet_overflow", stored=False, tokenizer_name="raw", index_option="basic")
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


def _utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _months(start: date, end: date) -> list[str]:
    """ "YYYY-MM" for each month from `start`'s to `end`'s, inclusive."""
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, last + 1)]


def _add_finance_fields(doc: tantivy.Document, record: AnyRecord) -> None:
    if record.kind == "requirement":
        origins = record.origins  # type: ignore[union-attr]
    elif record.kind == "finance":
        origins = record.eligible_exporter_countries  # type: ignore[union-attr]
    else:
        origins = []
    for code in origins or [_OPEN_TO_ALL]:
        doc.add_text("eligible", code)
    if record.kind != "finance":
        return
    for instrument in record.instruments:  # type: ignore[union-attr]
        doc.add_text("instruments", instrument)
    provider = record.provider  # type: ignore[union-attr]
    if provider is not None and provider.type:
        doc.add_text("provider_type", provider.type)
    doc.add_text("sme", "yes" if record.sme_focus else "no")  # type: ignore[union-attr]
    for side in ("min", "max"):
        money = getattr(record, f"{side}_amount")
        if money is not None:
            doc.add_float(f"{side}_value", float(money.value))
            doc.add_text(f"{side}_currency", money.currency)


def _add_facet_columns(doc: tantivy.Document, values: dict[str, list[str]]) -> None:
    for name, positions in _FACET_POSITIONS.items():
        present = [v for v in values[name] if v]
        overflow = len(present) > positions
        if overflow:
            doc.add_text("facet_overflow", name)
        for i in range(positions):
            doc.add_text(f"{name}@{i}", present[i] if i < len(present) and not overflow else _NONE)


def to_document(record: AnyRecord) -> tantivy.Document:
    doc = tantivy.Document()
    _add_finance_fields(doc, record)
    doc.add_text("id", record.id)
    doc.add_text("kind", record.kind)
    for m in record.markets:
        doc.add_text("markets", m)
    for s in record.sectors:
        doc.add_text("sectors", s)
    status = getattr(record, "status", None)
    if status:
        doc.add_text("status", status)
    for code in record.hs_codes:
        doc.add_text("hs_codes", code)
    if record.language:
        doc.add_text("language", record.language)
    _add_facet_columns(
        doc, {"markets": record.markets, "sectors": record.sectors, "status": [status or ""]}
    )
    doc.add_text("title", record.title)
    if record.summary:
        doc.add_text("summary", record.summary)
    for part in (record.text, *record_extra_text(record)):
        if part:
            doc.add_text("text", part)
    doc.add_boolean("withdrawn", bool(record.withdrawn))
    start, end = record_interval(record)
    if start is not None:
        doc.add_date("date_start", _utc(start))
        doc.add_integer("sort_asc", start.toordinal())
        doc.add_integer("sort_desc", start.toordinal())
    else:
        doc.add_integer("sort_asc", _UNDATED_ASC)
        doc.add_integer("sort_desc", _UNDATED_DESC)
    if end is not None:
        doc.add_date("date_end", _utc(end))
    if start is not None and end is not None:
        months = _months(start, end) if end >= start else []
        for month in months if len(months) <= MAX_MONTH_TERMS else [_LONG]:
            doc.add_text("months", month)
    doc.add_bytes("doc", record.model_dump_json().encode())
    return doc


def query_terms(q: str | None) -> list[str]:
    """The words of a free-text query, analyzed exactly like the indexed text; never raises.

    Query syntax has no meaning here: `title:foo AND (` is the three words title, foo, and.
    """
    if not q or not q.strip():
        return []
    try:
        tokens = _QUERY_ANALYZER.analyze(q)
    except Exception:  # pragma: no cover - defensive: the analyzer accepts any str
        tokens = []
    return list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]


def _hs_query(hs: str) -> Query:
    code = "".join(ch for ch in hs if not ch.isspace() and ch != ".")
    if not code or not code.isascii() or not code.isdigit():
        return Query.empty_query()
    # codes tagged on a record that are a prefix of the asked code ("09" for "090121") ...
    up = Query.term_set_query(SCHEMA, "hs_codes", [code[:i] for i in range(1, len(code) + 1)])
    # ... or that the asked code is a prefix of ("090111" for "09"); digits only, regex-safe
    down = Query.regex_query(SCHEMA, "hs_codes", f"{code}[0-9]+")
    return Query.boolean_query([(Occur.Should, up), (Occur.Should, down)])


def _finance_filters(query: SearchQuery) -> list[Query]:
    filters: list[Query] = []
    for attr, field in FINANCE_TERM_FIELDS.items():
        values = [v.strip() for v in getattr(query, attr) if v and v.strip()]
        if values:
            filters.append(_terms(field, values))
    if query.origins:
        codes = [c.strip().upper() for c in query.origins if c and c.strip()]
        filters.append(Query.term_set_query(SCHEMA, "eligible", [*codes, _OPEN_TO_ALL]))
    if query.sme_focus is not None:
        filters.append(Query.term_query(SCHEMA, "sme", "yes" if query.sme_focus else "no"))
    if query.amount_min is not None or query.amount_max is not None:
        # Overlap of [min_amount, max_amount] with the asked range: exclude programmes whose
        # minimum is above the range or whose maximum is below it, in the asked currency.
        clauses: list[tuple[Occur, Query]] = [
            (Occur.Must, Query.term_query(SCHEMA, "kind", "finance"))
        ]
        float_type = tantivy.FieldType.Float
        outside: list[tuple[str, Query]] = []
        if query.amount_max is not None:  # minimum above the range
            outside.append(
                (
                    "min_currency",
                    Query.range_query(
                        SCHEMA,
                        "min_value",
                        float_type,
                        lower_bound=float(query.amount_max),
                        include_lower=False,
                    ),
                )
            )
        if query.amount_min is not None:  # maximum below the range
            outside.append(
                (
                    "max_currency",
                    Query.range_query(
                        SCHEMA,
                        "max_value",
                        float_type,
                        upper_bound=float(query.amount_min),
                        include_upper=False,
                    ),
                )
            )
        for currency_field, out in outside:
            if query.currency:
                same = Query.term_query(SCHEMA, currency_field, query.currency.upper())
                out = Query.boolean_query([(Occur.Must, out), (Occur.Must, same)])
            clauses.append((Occur.MustNot, out))
        filters.append(Query.boolean_query(clauses))
    return filters


def _terms(field: str, values: Sequence[str]) -> Query:
    """Any of `values` in `field`. A term-set query over one value cost 1.6x a term query."""
    values = list(dict.fromkeys(values))
    if len(values) == 1:
        return Query.term_query(SCHEMA, field, values[0])
    return Query.term_set_query(SCHEMA, field, values)


def _date_filters(query: SearchQuery) -> list[Query]:
    """Overlap of each record's [date_start, date_end] with [date_from, date_to].

    In a bounded window of a few months, a record touching a month that lies wholly inside the
    window overlaps it: a term query says so. Only records touching just the window's partial
    first or last month (or indexed as `_LONG`) need the exact range checks, which then seek
    within that set. The result is the same as the range checks alone."""
    lo, hi = query.date_from, query.date_to
    if lo and hi and lo > hi:
        return [Query.empty_query()]
    ranges: list[Query] = []
    if lo:  # overlap: end >= from
        ranges.append(
            Query.range_query(SCHEMA, "date_end", tantivy.FieldType.Date, lower_bound=_utc(lo))
        )
    if hi:  # overlap: start <= to
        ranges.append(
            Query.range_query(SCHEMA, "date_start", tantivy.FieldType.Date, upper_bound=_utc(hi))
        )
    if not (lo and hi) or len(months := _months(lo, hi)) > MAX_WINDOW_MONTHS:
        return ranges
    whole = [
        m
        for m in months
        if (m != months[0] or lo.day == 1) and (m != months[-1] or (hi + timedelta(1)).day == 1)
    ]
    partial = [m for m in months if m not in whole]
    edge = Query.boolean_query(
        [
            (Occur.Must, _terms("months", [*partial, _LONG])),
            *((Occur.Must, r) for r in ranges),
        ]
    )
    if not whole:
        return [edge]
    inside = _terms("months", whole)
    return [Query.boolean_query([(Occur.Should, inside), (Occur.Should, edge)])]


def build_query(query: SearchQuery) -> tuple[Query, bool]:
    """(tantivy query, has_text). Text clauses score with BM25; filters score 0."""
    clauses: list[tuple[Occur, Query]] = []
    terms = query_terms(query.q)
    for term in terms:
        per_field = [
            (
                Occur.Should,
                Query.boost_query(Query.term_query(SCHEMA, "title", term), TITLE_BOOST),
            ),
            (Occur.Should, Query.term_query(SCHEMA, "summary", term)),
            (Occur.Should, Query.term_query(SCHEMA, "text", term)),
        ]
        clauses.append((Occur.Must, Query.boolean_query(per_field)))

    filters: list[Query] = []
    for field in FILTER_FIELDS:
        values = [v.strip() for v in getattr(query, field) if v and v.strip()]
        if field == "markets":
            values = [v.upper() for v in values]
        if values:
            filters.append(_terms(field, values))
    languages = [v.strip() for v in query.languages if v and v.strip()]
    if languages:
        filters.append(_terms("language", languages))
    if query.hs is not None and query.hs.strip():
        filters.append(_hs_query(query.hs))
    filters.extend(_finance_filters(query))
    filters.extend(_date_filters(query))
    if terms and filters:
        # Filters must not change BM25 scores: one constant-score wrapper around all of
        # them (a wrapper per filter cost 1.5 ms on a 50k-hit date window at 1M records).
        conjunction = Query.boolean_query([(Occur.Must, f) for f in filters])
        clauses.append((Occur.Must, Query.const_score_query(conjunction, 0.0)))
    else:
        # Without query words results are sorted by date and never scored.
        clauses.extend((Occur.Must, f) for f in filters)
    if not clauses:
        clauses.append((Occur.Must, Query.all_query()))
    if not query.include_withdrawn:
        clauses.append((Occur.MustNot, Query.term_query(SCHEMA, "withdrawn", True)))
    return Query.boolean_query(clauses), bool(terms)


def facet_counts(searcher: tantivy.Searcher, tq: Query) -> dict[str, list[FacetValue]]:
    columns = {f"{name}@{i}": name for name, n in _FACET_POSITIONS.items() for i in range(n)}
    columns.update({f: f for f in FACET_FIELDS if f not in _FACET_POSITIONS})
    raw = searcher.aggregate(tq, {c: {"terms": {"field": c, "size": FACET_SIZE}} for c in columns})
    counts: dict[str, Counter[str]] = {f: Counter() for f in FACET_FIELDS}
    for column, field in columns.items():
        for b in raw.get(column, {}).get("buckets", []):
            counts[field][str(b["key"])] += int(b["doc_count"])
    for field in _FACET_POSITIONS:
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
            ((v, c) for v, c in counts[field].items() if c > 0 and v != _NONE),
            key=lambda kv: (-kv[1], kv[0]),
        )
        out[field] = [FacetValue(value=v, count=c) for v, c in pairs]
    return out
