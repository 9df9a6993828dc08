"""tantivy queries of a SearchQuery: words, filters, HS prefixes, finance terms, date windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import tantivy
from tantivy import Occur, Query

from search_api.search.base import (
    FILTER_FIELDS,
    FINANCE_TERM_FIELDS,
    MAX_QUERY_TERMS,
    OPEN_TO_ALL,
    TITLE_BOOST,
    Phrase,
    SearchQuery,
    stem_languages,
    text_groups,
)
from search_api.search.tantivy.schema import (
    LONG,
    MAX_WINDOW_MONTHS,
    QUERY_ANALYZER,
    SCHEMA,
    STEM_QUERY_ANALYZERS,
    UNTAGGED_FAIR,
    month_terms,
    stemmed_field,
    utc,
)


def query_terms(q: str | None) -> list[str]:
    """The words of a free-text query, analyzed exactly like the indexed text; never raises.

    Query syntax has no meaning here: `title:foo AND (` is the three words title, foo, and.
    """
    if not q or not q.strip():
        return []
    try:
        tokens = QUERY_ANALYZER.analyze(q)
    except Exception:  # pragma: no cover - defensive: the analyzer accepts any str
        tokens = []
    return list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]


def _hs_query(hs: str, sectors: Sequence[str] = ()) -> Query:
    """See SearchBackend: the code's prefixes and sub-codes, records without HS codes
    (indexed as OPEN_TO_ALL) but fairs, and fairs without HS codes in one of `sectors`."""
    code = "".join(ch for ch in hs if not ch.isspace() and ch != ".")
    if not code or not code.isascii() or not code.isdigit():
        return Query.empty_query()
    # codes tagged on a record that are a prefix of the asked code ("09" for "090121") ...
    up = Query.term_set_query(SCHEMA, "hs_codes", [code[:i] for i in range(1, len(code) + 1)])
    # ... or that the asked code is a prefix of ("090111" for "09"); digits only, regex-safe
    down = Query.regex_query(SCHEMA, "hs_codes", f"{code}[0-9]+")
    every_product = Query.term_query(SCHEMA, "hs_codes", OPEN_TO_ALL)  # fairs aside
    clauses = [(Occur.Should, up), (Occur.Should, down), (Occur.Should, every_product)]
    wanted = [s.strip() for s in sectors if s and s.strip()]
    if wanted:
        by_sector = Query.boolean_query(
            [
                (Occur.Must, Query.term_query(SCHEMA, "hs_codes", UNTAGGED_FAIR)),
                (Occur.Must, _terms("sectors", wanted)),
            ]
        )
        clauses.append((Occur.Should, by_sector))
    return Query.boolean_query(clauses)


def _finance_filters(query: SearchQuery) -> list[Query]:
    filters: list[Query] = []
    for attr, field in FINANCE_TERM_FIELDS.items():
        values = [v.strip() for v in getattr(query, attr) if v and v.strip()]
        if values:
            filters.append(_terms(field, values))
    if query.origins:
        codes = [c.strip().upper() for c in query.origins if c and c.strip()]
        filters.append(Query.term_set_query(SCHEMA, "eligible", [*codes, OPEN_TO_ALL]))
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
    first or last month (or indexed as `LONG`) need the exact range checks, which then seek
    within that set. The result is the same as the range checks alone."""
    lo, hi = query.date_from, query.date_to
    if lo and hi and lo > hi:
        return [Query.empty_query()]
    ranges: list[Query] = []
    if lo:  # overlap: end >= from
        ranges.append(
            Query.range_query(SCHEMA, "date_end", tantivy.FieldType.Date, lower_bound=utc(lo))
        )
    if hi:  # overlap: start <= to
        ranges.append(
            Query.range_query(SCHEMA, "date_start", tantivy.FieldType.Date, upper_bound=utc(hi))
        )
    if not (lo and hi) or len(months := month_terms(lo, hi)) > MAX_WINDOW_MONTHS:
        return ranges
    whole = [
        m
        for m in months
        if (m != months[0] or lo.day == 1) and (m != months[-1] or (hi + timedelta(1)).day == 1)
    ]
    partial = [m for m in months if m not in whole]
    edge = Query.boolean_query(
        [
            (Occur.Must, _terms("months", [*partial, LONG])),
            *((Occur.Must, r) for r in ranges),
        ]
    )
    if not whole:
        return [edge]
    inside = _terms("months", whole)
    return [Query.boolean_query([(Occur.Should, inside), (Occur.Should, edge)])]


def _analyze(analyzer: tantivy.TextAnalyzer, word: str) -> list[str]:
    try:
        return analyzer.analyze(word)
    except Exception:  # pragma: no cover - defensive: the analyzer accepts any str
        return []


def _word_query(word: str, languages: tuple[str, ...]) -> Query | None:
    """One word of a phrase: folded in any text field (the title boosted), or stemmed in the
    stemmed fields of `languages` (base.stem_languages)."""
    options: list[tuple[Occur, Query]] = []
    # a word of letters and digits is one token, but an analyzer may split what it folds
    folded = _analyze(QUERY_ANALYZER, word)
    for token in folded[:1]:
        options += [
            (
                Occur.Should,
                Query.boost_query(Query.term_query(SCHEMA, "title", token), TITLE_BOOST),
            ),
            (Occur.Should, Query.term_query(SCHEMA, "summary", token)),
            (Occur.Should, Query.term_query(SCHEMA, "text", token)),
        ]
    for lang in languages:
        for stem in _analyze(STEM_QUERY_ANALYZERS[lang], word)[:1]:
            options.append((Occur.Should, Query.term_query(SCHEMA, stemmed_field(lang), stem)))
    return Query.boolean_query(options) if options else None


def _phrase_query(phrase: Phrase) -> Query | None:
    if phrase.concept:
        return Query.term_query(SCHEMA, "concepts", phrase.concept)
    languages = stem_languages(phrase)
    words = [_word_query(w, languages) for w in phrase.words]
    if not words or any(w is None for w in words):
        return None
    if len(words) == 1:
        return words[0]
    return Query.boolean_query([(Occur.Must, w) for w in words if w is not None])


def text_query(query: SearchQuery) -> list[Query]:
    """One required clause per group of the query's text: any one of its phrases."""
    clauses: list[Query] = []
    for group in text_groups(query):
        phrases = [p for p in (_phrase_query(phrase) for phrase in group) if p is not None]
        if not phrases:
            clauses.append(Query.empty_query())  # a group nothing can match: no result
        elif len(phrases) == 1:
            clauses.append(phrases[0])
        else:
            clauses.append(Query.boolean_query([(Occur.Should, p) for p in phrases]))
    return clauses


def build_query(query: SearchQuery) -> tuple[Query, bool]:
    """(tantivy query, has_text). Text clauses score with BM25; filters score 0."""
    clauses: list[tuple[Occur, Query]] = []
    terms = text_query(query)
    clauses.extend((Occur.Must, clause) for clause in terms)

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
        filters.append(_hs_query(query.hs, query.hs_sectors))
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
