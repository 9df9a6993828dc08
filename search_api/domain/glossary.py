"""The domain's words in English, French and Spanish (data/glossary.yml), and the expansion of
a query with them: "emballage" also searches "packaging" and "envase", "assurance-crédit" also
"credit insurance" and "seguro de crédito".

Everything is computed once when the glossary is first used (phrase -> entry maps keyed by each
language's stems); expanding a query then costs a few stemmer calls and dict lookups per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from search_api.domain import words as W

DATA_FILE = Path(__file__).resolve().parent / "data" / "glossary.yml"
MAX_PHRASE_WORDS = 6
"""Longest glossary phrase, in words (stop words left out)."""
MAX_ALTERNATIVES = 24
"""Most alternatives one query word or phrase expands into (the largest entry has ~15)."""

Phrase = tuple[str | None, tuple[str, ...]]
"""(language, words): words that must all be found; language None when unknown (what the
user typed and the glossary does not know)."""


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
    return Glossary(tuple(entries), exact, stemmed, min(longest, MAX_PHRASE_WORDS))


def expand(q: str | None, max_words: int) -> list[list[Phrase]]:
    """The groups of a query: every group must be found, by any one of its alternatives.

    Words are the query's (stop words of the three languages left out, unless nothing else
    is left). Where a run of words is a glossary phrase in some language (the longest run
    first), its group holds the words as typed (in the languages that named the entry) and
    every phrase of the entry in every language; any other word is a group of itself, in no
    particular language. At most `max_words` words of the query are used.
    """
    typed = W.content_tokens(q or "")
    seen: dict[str, str] = {}
    for word in typed:
        seen.setdefault(W.fold(word), word)
        if len(seen) >= max_words:
            break
    folded = list(seen)
    book = glossary()
    groups: list[list[Phrase]] = []
    i = 0
    while i < len(folded):
        match: tuple[int, Entry, set[str]] | None = None
        for n in range(min(book.longest, len(folded) - i), 0, -1):
            found = book.lookup(tuple(folded[i : i + n]))
            if found is not None:
                match = (n, *found)
                break
        if match is None:
            groups.append([(None, (seen[folded[i]],))])
            i += 1
            continue
        n, entry, languages = match
        as_typed = tuple(seen[w] for w in folded[i : i + n])
        group: list[Phrase] = [(lang, as_typed) for lang in W.LANGUAGES if lang in languages]
        known = {(lang, tuple(W.fold(w) for w in words)) for lang, words in group}
        for lang, words in entry.phrases():
            if (lang, tuple(W.fold(w) for w in words)) not in known:
                group.append((lang, words))
        groups.append(group[:MAX_ALTERNATIVES])
        i += n
    return groups
