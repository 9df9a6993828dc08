"""Does one record match a search? The backends' semantics, in Python, for one record at a time.

Webhooks match each changed record against a partner's saved search, and the bulk export and
the requirement calendars filter records read from the system of record: neither can ask the
index, which may lag behind the store (or no longer hold a deleted record), and the export
must not stop at the index's 10,000-result window. So the rules of `SearchBackend` (see its
docstring and `search/tantivy/query.py`) are written once more here, for a single record.
`tests/test_match.py` checks that this module and the embedded backend select the same
records for the same searches.

Words are analysed as the backends analyse them: split on anything but letters and digits,
lowercased, folded to ASCII ("Besançon" -> "besancon", "Straße" -> "strasse"); a phrase's
word is found in the title, the summary or the other searchable text, or by its Snowball stem
in a record written in a language `stem_languages` names; a concept phrase is found in the
records `record_concepts` tags with it (see SearchBackend).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from search_api.domain import words as W
from search_api.domain.records import AnyRecord
from search_api.search.base import (
    MAX_QUERY_TERMS,
    OPEN_TO_ALL,
    STEMMED_LANGUAGES,
    Phrase,
    SearchQuery,
    record_concepts,
    record_extra_text,
    record_interval,
    record_status,
    stem_languages,
    text_groups,
)

_WORD = re.compile(r"[^\W_]+")
_INDEXED_TOKEN_BYTES = 40
"""Indexed tokens of this many UTF-8 bytes or more are dropped (tantivy's remove_long(40))."""
# Letters ASCII folding spells with other letters (Lucene's ASCIIFoldingFilter, which both
# backends use); the rest fold by dropping their accents.
_SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ł": "l",
    "þ": "th",
    "ı": "i",
    "ĸ": "q",
    "ŋ": "n",
    "ŧ": "t",
    "ħ": "h",
}


@lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    base = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
    # Only folds that end in ASCII, as ASCII folding does: Cyrillic "й" stays "й".
    return base if base and base.isascii() else c


def _fold(token: str) -> str:
    if token.isascii():
        return token
    return "".join(_fold_char(c) for c in token)


def analyse(text: str | None, *, indexed: bool = True) -> list[str]:
    """The words of a text as the index holds them (`indexed`) or as a query asks them."""
    if not text:
        return []
    out = []
    for token in _WORD.findall(text):
        if indexed and len(token.encode()) >= _INDEXED_TOKEN_BYTES:
            continue
        out.append(_fold(token.lower()))
    return out


def query_words(q: str | None) -> list[str]:
    if not q or not q.strip():
        return []
    return list(dict.fromkeys(analyse(q, indexed=False)))[:MAX_QUERY_TERMS]


def _words_of(record: AnyRecord) -> set[str]:
    words: set[str] = set()
    for part in (record.title, record.summary, record.text, *record_extra_text(record)):
        words.update(analyse(part))
    return words


def _any(values: Iterable[str], wanted: Iterable[str]) -> bool:
    wanted_set = set(wanted)
    return any(v in wanted_set for v in values)


def _hs_matches(query: SearchQuery, record: AnyRecord) -> bool:
    code = "".join(ch for ch in (query.hs or "") if not ch.isspace() and ch != ".")
    if not code or not code.isascii() or not code.isdigit():
        return False
    codes = record.hs_codes
    if not codes:
        # Without HS codes a rule or a programme applies to every product; a fair is about
        # sectors, and matches when one of them is the product's.
        if record.kind != "fair":
            return True
        return _any(record.sectors, query.hs_sectors)
    # A broader code on the record ("09" for "090121"), the code itself, or a narrower one.
    return any(code.startswith(c) or (c.startswith(code) and len(c) > len(code)) for c in codes)


class _RecordText:
    """A record's searchable words, stems and concepts, computed when first asked."""

    def __init__(self, record: AnyRecord) -> None:
        self.record = record
        self._words: set[str] | None = None
        self._stems: set[str] | None = None
        self._concepts: set[str] | None = None

    @property
    def words(self) -> set[str]:
        if self._words is None:
            self._words = _words_of(self.record)
        return self._words

    @property
    def stems(self) -> set[str]:
        if self._stems is None:
            lang = self.record.language
            self._stems = (
                {W.stem(word, lang) for word in self.words} if lang in STEMMED_LANGUAGES else set()
            )
        return self._stems

    @property
    def concepts(self) -> set[str]:
        if self._concepts is None:
            self._concepts = set(record_concepts(self.record))
        return self._concepts

    def finds(self, phrase: Phrase) -> bool:
        if phrase.concept:
            return phrase.concept in self.concepts
        if not phrase.words:
            return False
        lang = self.record.language
        stemmed = lang in stem_languages(phrase)
        for word in phrase.words:
            folded = analyse(word, indexed=False)[:1]
            if not folded:
                return False
            if folded[0] in self.words:
                continue
            if stemmed and lang is not None and W.stem(folded[0], lang) in self.stems:
                continue
            return False
        return True


def _finance_matches(query: SearchQuery, record: AnyRecord) -> bool:
    finance = record.kind == "finance"
    if query.instruments and not (
        finance and _any(record.instruments, query.instruments)  # type: ignore[union-attr]
    ):
        return False
    if query.provider_types:
        provider = record.provider if finance else None  # type: ignore[union-attr]
        if provider is None or provider.type not in query.provider_types:
            return False
    if query.origins:
        if record.kind == "requirement":
            eligible = record.origins
        elif finance:
            eligible = record.eligible_exporter_countries  # type: ignore[union-attr]
        else:
            eligible = []
        asked = {c.strip().upper() for c in query.origins if c and c.strip()} | {OPEN_TO_ALL}
        if not _any(eligible or [OPEN_TO_ALL], asked):
            return False
    if query.sme_focus is not None and not (
        finance and bool(record.sme_focus) == query.sme_focus  # type: ignore[union-attr]
    ):
        return False
    if query.amount_min is not None or query.amount_max is not None:
        if not finance:
            return False
        low, high = record.min_amount, record.max_amount  # type: ignore[union-attr]
        currency = query.currency.upper() if query.currency else None
        # Amounts are never converted: a bound in another currency never excludes.
        if (
            query.amount_max is not None
            and low is not None
            and low.value > query.amount_max
            and (currency is None or low.currency == currency)
        ):
            return False
        if (
            query.amount_min is not None
            and high is not None
            and high.value < query.amount_min
            and (currency is None or high.currency == currency)
        ):
            return False
    return True


def record_matches(query: SearchQuery, record: AnyRecord) -> bool:
    """True when `record` is one of the records `query` finds (paging and sorting aside)."""
    if record.withdrawn and not query.include_withdrawn:
        return False
    if query.kind and record.kind not in query.kind:
        return False
    markets = {m.strip().upper() for m in query.markets if m and m.strip()}
    if markets and not _any(record.markets, markets):
        return False
    if query.sectors and not _any(record.sectors, query.sectors):
        return False
    if query.status and record_status(record) not in query.status:
        return False
    if query.languages and record.language not in query.languages:
        return False
    if query.hs is not None and query.hs.strip() and not _hs_matches(query, record):
        return False
    if not _finance_matches(query, record):
        return False
    if query.date_from or query.date_to:
        start, end = record_interval(record)
        if query.date_from and (end is None or end < query.date_from):
            return False
        if query.date_to and (start is None or start > query.date_to):
            return False
    groups = text_groups(query)
    if groups:
        text = _RecordText(record)
        if not all(any(text.finds(phrase) for phrase in group) for group in groups):
            return False
    return True


def without_dates(query: SearchQuery) -> SearchQuery:
    """The same search over every date (for reminders and calendars, which look at a
    record's deadlines rather than at the dates a date window selects on)."""
    return query.model_copy(update={"date_from": None, "date_to": None})
