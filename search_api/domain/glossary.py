"""The domain's words in English, French and Spanish (data/glossary.yml), and the expansion of
a query with them: "emballage" also finds "packaging" and "envase", "assurance-crédit" also
"credit insurance" and "seguro de crédito".

Each entry is a concept. Records are tagged at indexing with the concepts their text names, in
any of the three languages (`concepts_in`); a query word or phrase that names a concept then
finds the records tagged with it (`expand`): one posting list per concept at search time
instead of a union of every equivalent's (which cost 10-20 ms at 100k records for "salon").
Everything is computed once when the glossary is first used (phrase -> entry maps keyed by
each language's stems); expanding a query costs a few stemmer calls and dict lookups per word.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import yaml

from search_api.domain import words as W

DATA_FILE = Path(__file__).resolve().parent / "data" / "glossary.yml"
MAX_PHRASE_WORDS = 6
"""Longest glossary phrase, in words (stop words left out)."""
MAX_ALTERNATIVES = 24
"""Most alternatives one query word or phrase expands into (the largest entry has ~15)."""

MAX_CONCEPT_TEXT = 20_000
"""Characters of a record's text read for its concepts (a 5 MB PDF is not read whole)."""

Phrase = tuple[str | None, tuple[str, ...]]
"""(language, words) of a glossary term."""


class Group(NamedTuple):
    """Words of a query that must be found together: `words` as typed, in `languages` (those
    in which the glossary knows them; None: unknown), or the glossary `concept` they name."""

    words: tuple[str, ...]
    languages: tuple[str, ...] | None
    concept: str | None


@dataclass(frozen=True)
class Entry:
    id: str
    group: str
    terms: dict[str, tuple[str, ...]]
    """language -> the entry's words and phrases in it, as written in the glossary."""

    def phrases(self) -> tuple[Phrase, ...]:
        """Each term as the words to find (stop words left out, accents kept), once."""
        out: dict[tuple[str, tuple[str, ...]], Phrase] = {}
        for lang, terms in self.terms.items():
            for term in terms:
                words = tuple(W.content_tokens(term))
                if words:
                    out.setdefault((lang, tuple(W.fold(w) for w in words)), (lang, words))
        return tuple(out.values())


@dataclass(frozen=True)
class Glossary:
    entries: tuple[Entry, ...]
    exact: dict[str, dict[tuple[str, ...], Entry]]
    """language -> folded phrase -> entry."""
    stemmed: dict[str, dict[tuple[str, ...], Entry | None]]
    """language -> stemmed phrase -> entry; None where two entries share the stems (Spanish
    "seguro", insurance, and "seguridad", safety, are both "segur"): those are found only as
    written."""
    longest: int
    firsts: dict[str, frozenset[str]]
    """language -> first words (folded, and stemmed in that language) of its phrases: a token
    that is none of these starts no phrase (most tokens of a text)."""
    by_id: dict[str, Entry]
    digest: str
    """Changes when the glossary does: indices tagged with an older one are rebuilt."""

    def lookup(self, folded: tuple[str, ...]) -> tuple[Entry, set[str]] | None:
        """The entry a phrase (folded words) names, with the languages in which it does: as
        written first, else through each language's stems."""
        for table, key_of in ((self.exact, _same), (self.stemmed, _stems)):
            found: Entry | None = None
            languages: set[str] = set()
            for lang in W.LANGUAGES:
                entry = table[lang].get(key_of(folded, lang))
                if entry is not None and (found is None or entry is found):
                    found = entry
                    languages.add(lang)
            if found is not None:
                return found, languages
        return None


def _same(folded: tuple[str, ...], lang: str) -> tuple[str, ...]:
    return folded


def _stems(folded: tuple[str, ...], lang: str) -> tuple[str, ...]:
    return tuple(W.stem(w, lang) for w in folded)


@lru_cache(maxsize=1)
def glossary() -> Glossary:
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")) or {}
    entries: list[Entry] = []
    for group, items in raw.items():
        for item in items or []:
            terms = {
                lang: tuple(str(t) for t in item.get(lang) or ())
                for lang in W.LANGUAGES
                if item.get(lang)
            }
            entries.append(Entry(id=str(item["id"]), group=str(group), terms=terms))
    exact: dict[str, dict[tuple[str, ...], Entry]] = {lang: {} for lang in W.LANGUAGES}
    stemmed: dict[str, dict[tuple[str, ...], Entry | None]] = {lang: {} for lang in W.LANGUAGES}
    longest = 1
    for entry in entries:
        for lang, words in entry.phrases():
            assert lang is not None
            folded = tuple(W.fold(w) for w in words)
            # The first entry listing a phrase keeps it: the order of the file decides.
            exact[lang].setdefault(folded, entry)
            key = _stems(folded, lang)
            if stemmed[lang].get(key, entry) is not entry:
                stemmed[lang][key] = None  # shared by two entries: ambiguous
            else:
                stemmed[lang][key] = entry
            longest = max(longest, len(words))
    firsts = {
        lang: frozenset(k[0] for k in exact[lang]) | frozenset(k[0] for k in stemmed[lang])
        for lang in W.LANGUAGES
    }
    digest = hashlib.sha256(DATA_FILE.read_bytes()).hexdigest()[:16]
    return Glossary(
        tuple(entries),
        exact,
        stemmed,
        min(longest, MAX_PHRASE_WORDS),
        firsts,
        {e.id: e for e in entries},
        digest,
    )


MAX_CONCEPT_COUNT = 8
"""Most times one concept counts in a record (a long text naming "packaging" 40 times)."""


_FIRSTS_ANY: dict[str, frozenset[str]] = {}


def _firsts_of_any_language(book: Glossary) -> frozenset[str]:
    """The first words of every phrase in every language (by the glossary's digest)."""
    found = _FIRSTS_ANY.get(book.digest)
    if found is None:
        found = _FIRSTS_ANY[book.digest] = frozenset().union(*book.firsts.values())
    return found


def concept_counts(texts: list[tuple[str | None, int]], language: str | None) -> Counter[str]:
    """How often a record's texts name each glossary concept, each text weighing its weight
    (a title more than a body): every run of words that is a phrase of an entry as written
    (folded) in any language, or through the stems of the record's language (of all three
    when it has none of them). Every run counts, not only the longest: "credit insurance"
    names credit insurance, credit and insurance."""
    book = glossary()
    langs = (language,) if language in W.LANGUAGES else W.LANGUAGES
    counts: Counter[str] = Counter()
    budget = MAX_CONCEPT_TEXT
    for text, weight in texts:
        if not text or budget <= 0:
            continue
        text = text[:budget]
        budget -= len(text)
        tokens = [W.fold(t) for t in W.content_tokens(text)]
        stems = {lang: [W.stem(t, lang) for t in tokens] for lang in langs}
        first_any = _firsts_of_any_language(book)
        for i, token in enumerate(tokens):
            # most words start no phrase: one set lookup each (then one per stem)
            if token not in first_any:
                for lang in langs:
                    if stems[lang][i] in book.firsts[lang]:
                        break
                else:
                    continue
            for n in range(1, min(book.longest, len(tokens) - i) + 1):
                window = tuple(tokens[i : i + n])
                named: set[str] = set()
                for lang in W.LANGUAGES:
                    entry = book.exact[lang].get(window)
                    if entry is not None:
                        named.add(entry.id)
                for lang in langs:
                    entry = book.stemmed[lang].get(tuple(stems[lang][i : i + n]))
                    if entry is not None:
                        named.add(entry.id)
                for concept in named:
                    counts[concept] = min(MAX_CONCEPT_COUNT, counts[concept] + weight)
    return counts


def concepts_in(texts: list[str | None], language: str | None) -> set[str]:
    """The glossary concepts texts name (`concept_counts`)."""
    return set(concept_counts([(text, 1) for text in texts], language))


def expand(q: str | None, max_words: int) -> list[Group]:
    """The groups of a query: every group must be found.

    Words are the query's (stop words of the three languages left out, unless nothing else
    is left; at most `max_words`). Where a run of words is a glossary phrase in some language
    (the longest run first), its group is found by those words as typed (in the languages
    that named the entry) or by the entry's concept; any other word is a group of itself, in
    no known language.
    """
    typed = W.content_tokens(q or "")
    seen: dict[str, str] = {}
    for word in typed:
        seen.setdefault(W.fold(word), word)
        if len(seen) >= max_words:
            break
    folded = list(seen)
    book = glossary()
    groups: list[Group] = []
    i = 0
    while i < len(folded):
        match: tuple[int, Entry, set[str]] | None = None
        for n in range(min(book.longest, len(folded) - i), 0, -1):
            found = book.lookup(tuple(folded[i : i + n]))
            if found is not None:
                match = (n, *found)
                break
        if match is None:
            groups.append(Group((seen[folded[i]],), None, None))
            i += 1
            continue
        n, entry, languages = match
        as_typed = tuple(seen[w] for w in folded[i : i + n])
        ordered = tuple(lang for lang in W.LANGUAGES if lang in languages)
        groups.append(Group(as_typed, ordered, entry.id))
        i += n
    return groups
