"""The domain's words in English, French and Spanish (data/glossary.yml), and the expansion of
a query with them: "emballage" also finds "packaging" and "envase", "assurance-crédit" also
"credit insurance" and "seguro de crédito".

Each entry is a concept. Records are tagged at indexing with the concepts their text names, in
any of the three languages (`concepts_in`); a query word or phrase that names a concept then
finds the records tagged with it (`expand`): one posting list per concept at search time
instead of a union of every equivalent's (which cost 10-20 ms at 100k records for "salon").
Everything is computed once when the glossary is first used (phrase -> entry maps keyed by
each language's stems); expanding a query costs a few stemmer calls and dict lookups per word.
Tagging a record's text costs one dict lookup per word (`Matcher`: what each word can start,
kept per distinct word, so the three stemmers run once per word a process sees).
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
from search_api.domain.textfold import fold_accents

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
    by_id: dict[str, Entry]
    digest: str
    """Changes when the glossary does: indices tagged with an older one are rebuilt."""
    matcher: Matcher
    """Finds the concepts a text names (`concept_counts`)."""

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
    digest = hashlib.sha256(DATA_FILE.read_bytes()).hexdigest()[:16]
    longest = min(longest, MAX_PHRASE_WORDS)
    return Glossary(
        tuple(entries),
        exact,
        stemmed,
        longest,
        {e.id: e for e in entries},
        digest,
        Matcher(exact, stemmed, longest),
    )


MAX_CONCEPT_COUNT = 8
"""Most times one concept counts in a record (a long text naming "packaging" 40 times)."""


class _Word(NamedTuple):
    """What matching needs to know about one word of a text, as typed."""

    stop: bool
    starts: int
    """Bit i set: the word's i-th key starts a phrase of the i-th trie (Matcher.tries)."""
    keys: tuple[str | None, ...]
    """The word as each trie knows it: folded (phrases as written, any language), then its
    stem in each of W.LANGUAGES; None where no phrase of that trie has it (comparing it with
    a phrase's words could only fail)."""


MAX_WORDS_KEPT = 100_000
MAX_WORD_KEPT_CHARS = 40
"""Longer words are looked up each time: the cache is bounded in size, not only in count."""
"""Distinct words a Matcher remembers before starting afresh (~25 MB at most; a process
indexing a large corpus meets most of its words in the first few thousand records)."""
MAX_TEXTS_KEPT = 20_000
SHORT_TEXT = 80
"""Texts up to this many characters are remembered with what they name (MAX_TEXTS_KEPT of
them, ~3 MB): cities, venues, organisers, authorities and providers repeat across records."""


class _Node:
    """A word of a phrase trie: the concepts of the phrases ending here, the words that
    continue them."""

    __slots__ = ("concepts", "next")

    def __init__(self) -> None:
        self.concepts: tuple[str, ...] = ()
        self.next: dict[str | None, _Node] = {}


def _trie(phrases: dict[tuple[str, ...], set[str]]) -> dict[str | None, _Node]:
    """Phrase -> concepts, as first word -> trie node."""
    roots: dict[str | None, _Node] = {}
    for phrase, concepts in phrases.items():
        node = roots.setdefault(phrase[0], _Node())
        for word in phrase[1:]:
            node = node.next.setdefault(word, _Node())
        node.concepts = tuple(sorted(concepts))
    return roots


class Matcher:
    """The glossary's phrases as tries by their first word, and what every word seen so far
    can start.

    Written by hand because no library matches multi-word phrases through three Snowball
    stemmers at once; per word it is one dict lookup. Trie 0 holds the phrases as written
    (folded, every language), trie 1 + i those stemmed in the i-th of W.LANGUAGES. Only at a
    word that starts a phrase are the following words looked at (most words start none).
    """

    def __init__(
        self,
        exact: dict[str, dict[tuple[str, ...], Entry]],
        stemmed: dict[str, dict[tuple[str, ...], Entry | None]],
        longest: int,
    ) -> None:
        as_written: dict[tuple[str, ...], set[str]] = {}
        for table in exact.values():
            for phrase, entry in table.items():
                if len(phrase) <= longest:
                    as_written.setdefault(phrase, set()).add(entry.id)
        tables = [as_written] + [
            # None: two entries share these stems, found only as written (Glossary.stemmed)
            {
                phrase: {found.id}
                for phrase, found in stemmed[lang].items()
                if found is not None and len(phrase) <= longest
            }
            for lang in W.LANGUAGES
        ]
        self.tries = [_trie(table) for table in tables]
        self._vocabulary = [frozenset(w for phrase in table for w in phrase) for table in tables]
        self._slots: dict[tuple[str, ...], list[int]] = {}
        self._plain = _Word(False, 0, (None,) * len(tables))
        self.words: dict[str, _Word] = {}
        self.texts: dict[tuple[str, tuple[str, ...]], list[tuple[str, ...]]] = {}

    def word(self, typed: str) -> _Word:
        """What `typed` can start and be part of, computed once per distinct word."""
        found = self.words.get(typed)
        if found is not None:
            return found
        folded = fold_accents(typed)  # not W.fold: its cache would keep every word twice
        keys = (folded, *W.stems(folded))
        starts = 0
        for i, key in enumerate(keys):
            if key in self.tries[i]:
                starts |= 1 << i
        stop = W.is_stop_word(folded)
        known = tuple(k if k in self._vocabulary[i] else None for i, k in enumerate(keys))
        # most words: shared, so remembering them costs little
        found = _Word(stop, starts, known) if stop or any(known) else self._plain
        if len(typed) > MAX_WORD_KEPT_CHARS:
            return found  # a run of text without spaces (a hash, a PDF's glued words): not kept
        if len(self.words) >= MAX_WORDS_KEPT:
            self.words.clear()
        self.words[typed] = found
        return found

    def named(self, text: str, languages: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The concepts named at each place of `text` where a phrase starts and matches: per
        (place, length), the entries named as written (any language) or through the stems
        of `languages`, each once."""
        if len(text) <= SHORT_TEXT:
            found = self.texts.get((text, languages))
            if found is None:
                if len(self.texts) >= MAX_TEXTS_KEPT:
                    self.texts.clear()
                found = self.texts[(text, languages)] = self._named(text, languages)
            return found
        return self._named(text, languages)

    def _named(self, text: str, languages: tuple[str, ...]) -> list[tuple[str, ...]]:
        known, word = self.words, self.word
        words = [known.get(t) or word(t) for t in W.tokens(text)]
        # stop words are no part of any phrase, unless the text is nothing else
        # (W.content_tokens)
        kept = [w for w in words if not w.stop] or words
        slots = self._slots.get(languages)
        if slots is None:
            slots = self._slots[languages] = [0] + [
                1 + i for i, lang in enumerate(W.LANGUAGES) if lang in languages
            ]
        mask = sum(1 << slot for slot in slots)
        end = len(kept)
        out: list[tuple[str, ...]] = []
        for i, w in enumerate(kept):
            starts = w.starts & mask
            if not starts:
                continue
            found: list[tuple[int, tuple[str, ...]]] = []
            for slot in slots:
                if not starts & (1 << slot):
                    continue
                node: _Node | None = self.tries[slot][w.keys[slot]]
                n = 1
                while node is not None:
                    if node.concepts:
                        found.append((n, node.concepts))
                    if not node.next or i + n >= end:
                        break
                    node = node.next.get(kept[i + n].keys[slot])
                    n += 1
            if len(found) == 1:
                out.append(found[0][1])
                continue
            # the same run named through several languages names each concept once
            by_length: dict[int, set[str]] = {}
            for n, concepts in found:
                by_length.setdefault(n, set()).update(concepts)
            out.extend(tuple(concepts) for concepts in by_length.values())
        return out


def concept_counts(texts: list[tuple[str | None, int]], language: str | None) -> Counter[str]:
    """How often a record's texts name each glossary concept, each text weighing its weight
    (a title more than a body): every run of words that is a phrase of an entry as written
    (folded) in any language, or through the stems of the record's language (of all three
    when it has none of them). Every run counts, not only the longest: "credit insurance"
    names credit insurance, credit and insurance."""
    matcher = glossary().matcher
    langs = (language,) if language in W.LANGUAGES else W.LANGUAGES
    counts: Counter[str] = Counter()
    budget = MAX_CONCEPT_TEXT
    for text, weight in texts:
        if not text or budget <= 0:
            continue
        text = text[:budget]
        budget -= len(text)
        for named in matcher.named(text, langs):
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
