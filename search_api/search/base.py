"""The search backend interface. A backend knows nothing of SQL, HTTP or crawling.

Every backend must pass tests/contract (the same tests, unchanged). A new backend lives in its
own module and is picked in `search_api.search.create_backend`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from search_api.domain import glossary
from search_api.domain import words as W
from search_api.domain.records import MAX_RECORD_DATE, MIN_RECORD_DATE, AnyRecord

FACET_FIELDS: tuple[str, ...] = ("kind", "markets", "sectors", "status", "language")
SortOrder = Literal["relevance", "date", "-date"]

# What every backend shares, so that they rank, filter and count alike (tests/contract).
FILTER_FIELDS: tuple[str, ...] = ("kind", "markets", "sectors", "status")
FINANCE_TERM_FIELDS: dict[str, str] = {
    "instruments": "instruments",
    "provider_types": "provider_type",
}
"""SearchQuery attribute -> keyword field of the finance filters (OR within, AND across)."""
TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "text")
TITLE_BOOST = 3.0
MAX_QUERY_TERMS = 32
"""Words beyond this are ignored (a 10 kB paste must not build a 2000-clause query)."""
MAX_QUERY_ALTERNATIVE_WORDS = 192
"""Words of all the alternatives of an expanded query together (see `SearchQuery.text`)."""
STEMMED_LANGUAGES: tuple[str, ...] = W.LANGUAGES
"""Records in these languages are also indexed stemmed by their language's Snowball stemmer
(en, fr, es: the site's languages, the glossary's, and those both backends stem alike)."""
FACET_SIZE = 10_000
"""Terms-aggregation size: larger than any facet's vocabulary, so counts are exact."""
MAX_RESULT_WINDOW = 10_000
"""Deepest result a search may page to (page * size); Elasticsearch refuses beyond it."""
OPEN_TO_ALL = "*"
"""Indexed origin of records without an origin restriction (fairs, empty lists)."""


class Phrase(BaseModel):
    """Words that must all be found (in any order), in one language or in any (None); or,
    with `concept`, a concept of the glossary that records are tagged with at indexing
    (`record_concepts`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: tuple[str, ...] = ()
    language: str | None = None
    concept: str | None = None


class SearchQuery(BaseModel):
    """A validated search request. Filters combine with AND; values within one filter with OR."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str | None = Field(None, max_length=500, description="Free text; searched as words.")
    text: tuple[tuple[Phrase, ...], ...] = Field(
        (),
        description="`q` as groups of alternatives (search/request.py expands it with the "
        "glossary): every group must be found, by any one of its phrases. Empty: each "
        "word of `q` is a group of itself.",
    )
    kind: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    languages: tuple[str, ...] = Field((), description="ISO 639 codes of the records' language.")
    hs: str | None = Field(None, description="HS code; matches its prefixes and its sub-codes.")
    hs_sectors: tuple[str, ...] = Field(
        (), description="Sectors whose fairs an `hs` filter keeps (fairs carry no HS codes)."
    )
    # Finance filters. `origins` also applies to requirements (see SearchBackend).
    instruments: tuple[str, ...] = ()
    provider_types: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    sme_focus: bool | None = None
    amount_min: float | None = Field(None, ge=0)
    amount_max: float | None = Field(None, ge=0)
    currency: str | None = Field(
        None, min_length=3, max_length=3, description="ISO 4217 code of amount_min/amount_max"
    )
    # The span records may have (schema.MIN/MAX_RECORD_DATE); every backend can index it.
    date_from: date | None = Field(None, ge=MIN_RECORD_DATE, le=MAX_RECORD_DATE)
    date_to: date | None = Field(None, ge=MIN_RECORD_DATE, le=MAX_RECORD_DATE)
    include_withdrawn: bool = False
    sort: SortOrder = "relevance"
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=0, le=100)
    facets: bool = True

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def stem_languages(phrase: Phrase) -> tuple[str, ...]:
    """The stemmed languages whose records a phrase is stemmed in: its own; for a phrase in
    no known language, every one, except English when a word has letters English does not
    write (a French "marché" must not become the English stem of "March")."""
    if phrase.language is not None:
        return (phrase.language,) if phrase.language in STEMMED_LANGUAGES else ()
    if any(not ch.isascii() for word in phrase.words for ch in word):
        return tuple(lang for lang in STEMMED_LANGUAGES if lang != "en")
    return STEMMED_LANGUAGES


def text_groups(query: SearchQuery) -> tuple[tuple[Phrase, ...], ...]:
    """The groups a backend searches for (see SearchBackend): `query.text`, else one group
    per word of `q` (letters and digits, first occurrences, at most MAX_QUERY_TERMS), cut to
    MAX_QUERY_ALTERNATIVE_WORDS words in all. Never raises: `title:foo AND (` is the three
    words title, foo, AND."""
    groups = query.text
    if not groups:
        seen: dict[str, str] = {}
        for word in W.tokens(query.q or ""):
            seen.setdefault(W.fold(word), word)
            if len(seen) >= MAX_QUERY_TERMS:
                break
        groups = tuple((Phrase(words=(w,)),) for w in seen.values())
    out: list[tuple[Phrase, ...]] = []
    budget = MAX_QUERY_ALTERNATIVE_WORDS
    for group in groups[:MAX_QUERY_TERMS]:
        kept = []
        for phrase in group:
            cost = len(phrase.words) + (1 if phrase.concept else 0)
            if (phrase.words or phrase.concept) and cost <= budget:
                kept.append(phrase)
                budget -= cost
        if not kept:
            break  # out of budget: the rest of the query is dropped, never half a group
        out.append(tuple(kept))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One value of a facet and how many matches have it. A slotted dataclass, not a model:
    kept results hold tens of thousands of them until the index changes, and each model
    instance is three objects for the garbage collector to visit, this one."""

    value: str
    count: int


PackedFacets = bytes
"""Facets as JSON text: how caches keep them, out of the garbage collector's rounds (see
search/cache.py `KeptResult`)."""


def pack_facets(facets: dict[str, list[FacetValue]]) -> PackedFacets:
    return orjson.dumps(
        {name: [(v.value, v.count) for v in values] for name, values in facets.items()}
    )


def unpack_facets(packed: PackedFacets) -> dict[str, list[FacetValue]]:
    return {
        name: [FacetValue(v, c) for v, c in pairs] for name, pairs in orjson.loads(packed).items()
    }


class SearchResult(BaseModel):
    total: int
    items: list[dict[str, Any]]
    """Records as JSON-able dicts (the same shape as `Record.model_dump(mode="json")`)."""
    facets: dict[str, list[FacetValue]] = Field(default_factory=dict)


def record_interval(record: AnyRecord) -> tuple[date | None, date | None]:
    """The dates a date filter matches against (see SearchBackend): fairs their start and end,
    requirements their effective (else published) date, finance none."""
    if record.kind == "fair":
        start = record.start_date
        return start, record.end_date or start
    if record.kind == "requirement":
        d = record.effective_date or record.published_date
        return d, d
    return None, None


def record_status(record: AnyRecord) -> str | None:
    """The status a status filter and facet see. A fair series without known dates is not
    "scheduled" (nothing is: its next edition has no dates yet), so it has none there: the
    record model leaves it without one (domain/records.py FairRecord)."""
    return getattr(record, "status", None)


TITLE_CONCEPT_WEIGHT = 3
"""A concept named in the title counts this many times (as TITLE_BOOST for words)."""


def record_concepts(record: AnyRecord, extra: list[str] | None = None) -> list[str]:
    """The glossary concepts a record's text names (domain/glossary.py concept_counts), each
    repeated as often as it is named (the title's count more), indexed by every backend alike
    so that a query naming a concept finds the same records, those naming it most first.
    `extra`: `record_extra_text(record)` when the caller has it already."""
    texts = [
        (record.title, TITLE_CONCEPT_WEIGHT),
        (record.summary, 1),
        (record.text, 1),
        *((part, 1) for part in (record_extra_text(record) if extra is None else extra)),
    ]
    counts = glossary.concept_counts(texts, record.language)
    return [concept for concept in sorted(counts) for _ in range(counts[concept])]


def record_extra_text(record: AnyRecord) -> list[str]:
    """Searchable strings besides title/summary/text (place, organiser, authority, provider),
    the same for every backend so that they find the same records."""
    values: list[str | None] = []
    if record.kind == "fair":
        values += [record.city, record.venue, record.organiser]
    elif record.kind == "requirement":
        values += [record.authority, record.legal_reference]
    elif record.provider is not None:
        values.append(record.provider.name)
    return [v for v in values if v]


class SearchBackend(abc.ABC):
    """Text: every group of `text_groups(query)` must be found, by any one of its phrases;
    a phrase is found when each of its words is found in the title, summary or other text,
    lowercased and accent-folded, or, in a record written in one of STEMMED_LANGUAGES, when
    its stem by that language's Snowball stemmer is among the record's stems, for the
    languages `stem_languages(phrase)` names (a phrase in one language is stemmed only in
    records of that language, so "étiquetages" finds a French "étiquetage" and a French
    "marché" never an English "March"). A phrase with a `concept` is found in the records
    tagged with it (`record_concepts`: "salon" names the concept trade_fair, which an English
    "food trade show" is tagged with). Title matches rank higher.

    `hs` (a code of 2 to 6 digits) matches records tagged with the code, with a broader
    one (a prefix: "09" for "090121") or with a narrower one ("090111" for "09"). A record
    without HS codes applies to every product: requirements and finance without HS codes
    match any `hs` (a packaging law, an export credit line open to all goods). Fairs are
    about sectors, not codes: a fair without HS codes matches when one of its sectors is in
    `hs_sectors` (the caller gives the product's sectors, search_api/domain/hs_sectors.py);
    with no `hs_sectors`, only fairs tagged with a matching code match.

    Date filters match records whose [start, end] interval overlaps [date_from, date_to]:
    fairs use start_date/end_date, requirements effective_date (else published_date); records
    without a date never match a date filter. `sort="date"` puts the earliest start first and
    undated records last; `relevance` without `q` falls back to `date`.

    Finance filters: `instruments` and `provider_types` match finance records having one of the
    values. `origins` (exporter countries, bloc codes included by the caller) matches finance
    records whose `eligible_exporter_countries` contains one of them or is empty (open to
    all), requirements whose `origins` does (or is empty), and every fair. `sme_focus=True`
    matches finance records flagged for SMEs, `False` finance records not flagged (false or
    unknown). `amount_min`/`amount_max` match finance records whose [min_amount, max_amount]
    overlaps the range; a missing bound, or one in another currency than `currency` (when
    given), never excludes a record: amounts are never converted."""

    name: str = "abstract"

    @abc.abstractmethod
    def index(self, records: Iterable[AnyRecord]) -> dict[str, str]:
        """Add or replace records (by id; the last of a repeated id wins). Visible to
        `search` when this returns. `records` may be iterated more than once (a retry).

        Returns the records that could not be indexed, id -> why ("record X could not be
        indexed: ..."): one record whose document cannot be built never blocks the others.
        Such a record is not in the index afterwards (not even an older version of it)."""

    @abc.abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id; unknown ids are ignored."""

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abc.abstractmethod
    def rebuild(self, records: Iterable[AnyRecord]) -> int:
        """Replace the whole index with `records`; searches keep answering from the old index
        until the new one is complete. Returns the number of records indexed."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the backend can answer searches."""

    def needs_rebuild(self) -> bool:
        """True when the index was built by an older version of this code (another schema, or
        another glossary: `glossary.glossary().digest`) and must be rebuilt from the system of
        record."""
        return False

    def memo(self) -> dict[Any, Any] | None:
        """A dict that lives exactly as long as the index state searches currently see: a new
        one after every change becomes visible. Callers keep results derived from searches in
        it (and bound its size). None when the backend cannot tell when its state changes."""
        return None

    def state(self) -> str | None:
        """A name for the index state searches currently see, the same in every process that
        sees it and a new one after every change (what processes share answers under: see
        search/shared.py). None when the backend cannot tell."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
