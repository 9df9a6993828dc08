"""The glossary's per-word matcher (domain/glossary.py `Matcher`) tags every text exactly as the
straightforward matching it replaced: every run of up to `longest` words looked up as written
in every language and through the stems of the record's languages, at every word.

The oracle below is that matching, kept here only as the reference. It is run with the new one
over a large varied corpus: the curated catalogue, the real-world pages when the shared corpus
is present, synthetic records (bench/generate.py) and text made of the glossary's own phrases
(as written, without accents, capitalised, inflected, split by stop words and filler).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bench.generate import record_dict
from search_api.domain import glossary
from search_api.domain import words as W
from search_api.domain.records import parse_record
from search_api.search.base import TITLE_CONCEPT_WEIGHT, record_concepts, record_extra_text
from tests.helpers.sites import REALSOURCES, REALWORLD

REPO = Path(__file__).resolve().parents[1]
LANGUAGE_CASES: tuple[str | None, ...] = (None, "en", "fr", "es", "de")


def oracle_counts(texts: list[tuple[str | None, int]], language: str | None) -> Counter[str]:
    """Every window of every text looked up in the glossary's phrase tables, word by word."""
    book = glossary.glossary()
    langs = (language,) if language in W.LANGUAGES else W.LANGUAGES
    counts: Counter[str] = Counter()
    budget = glossary.MAX_CONCEPT_TEXT
    for text, weight in texts:
        if not text or budget <= 0:
            continue
        text = text[:budget]
        budget -= len(text)
        tokens = [W.fold(t) for t in W.content_tokens(text)]
        stems = {lang: [W.stem(t, lang) for t in tokens] for lang in langs}
        for i in range(len(tokens)):
            for n in range(1, min(book.longest, len(tokens) - i) + 1):
                named: set[str] = set()
                for lang in W.LANGUAGES:
                    entry = book.exact[lang].get(tuple(tokens[i : i + n]))
                    if entry is not None:
                        named.add(entry.id)
                for lang in langs:
                    found = book.stemmed[lang].get(tuple(stems[lang][i : i + n]))
                    if found is not None:
                        named.add(found.id)
                for concept in named:
                    counts[concept] = min(glossary.MAX_CONCEPT_COUNT, counts[concept] + weight)
    return counts


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def catalogue_texts() -> list[str]:
    out: list[str] = []
    for path in sorted((REPO / "crawlers" / "data").glob("*.yml")):
        out += _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    return out


def real_texts() -> list[str]:
    """Every file of the shared real-world corpora, as text (markup and all: the words in it
    are as varied as the matcher will ever see), in pieces of a record's size."""
    out: list[str] = []
    for root in (REALWORLD, REALSOURCES):
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", errors="replace")
            text = re.sub(r"<[^>]*>", " ", text)
            out += [text[i : i + 3000] for i in range(0, len(text), 3000)]
    return out


def glossary_soup(rng: random.Random, count: int) -> list[str]:
    """Texts made of the glossary's terms: runs that are phrases, runs that almost are (a word
    missing, swapped, inflected, a stop word between), in every case and accent."""
    terms = [
        term
        for entry in glossary.glossary().entries
        for values in entry.terms.values()
        for term in values
    ]
    fillers = ["the", "de", "la", "of", "y", "et", "2026", "Expo", "trade", "café", "über", "_"]
    fillers += list(W.ALL_STOP_WORDS)

    def variant(term: str) -> str:
        words = term.split()
        roll = rng.random()
        if roll < 0.15:
            words = [w + rng.choice(("s", "es", "x", "ing", "ed", "ción", "mente")) for w in words]
        elif roll < 0.25:
            words = words[::-1]
        elif roll < 0.35 and len(words) > 1:
            words.insert(rng.randrange(1, len(words)), rng.choice(fillers))
        elif roll < 0.45:
            words = [W.fold(w) for w in words]
        elif roll < 0.5:
            words = words[1:] or words
        text = " ".join(words)
        return rng.choice((text, text.upper(), text.title(), text.replace(" ", "-")))

    out = []
    for _ in range(count):
        parts = [
            variant(rng.choice(terms)) if rng.random() < 0.6 else rng.choice(fillers)
            for _ in range(rng.randint(1, 40))
        ]
        out.append(" ".join(parts))
    return out


def synthetic_records(count: int) -> list[dict[str, object]]:
    rng = random.Random(11)
    return [record_dict(i, rng) for i in range(count)]


def assert_same(texts: list[tuple[str | None, int]], language: str | None) -> None:
    assert glossary.concept_counts(texts, language) == oracle_counts(texts, language), (
        texts,
        language,
    )


def test_the_corpus_is_large_and_names_many_concepts() -> None:
    # what the equality tests below run over: many texts, most of the glossary named
    texts = catalogue_texts() + glossary_soup(random.Random(3), 500)
    named: set[str] = set()
    for text in texts:
        named |= set(oracle_counts([(text, 1)], None))
    assert len(texts) > 3000
    assert len(named) > 0.9 * len(glossary.glossary().entries)


def test_the_catalogue_is_tagged_as_before() -> None:
    for i, text in enumerate(catalogue_texts()):
        assert_same([(text, 1)], LANGUAGE_CASES[i % len(LANGUAGE_CASES)])


def test_glossary_phrases_in_every_form_are_tagged_as_before() -> None:
    for language in LANGUAGE_CASES:
        for text in glossary_soup(random.Random(LANGUAGE_CASES.index(language)), 600):
            assert_same([(text, 1)], language)


def test_synthetic_records_are_tagged_as_before() -> None:
    for data in synthetic_records(2000):
        record = parse_record(data)
        texts = [
            (record.title, TITLE_CONCEPT_WEIGHT),
            (record.summary, 1),
            (record.text, 1),
            *((extra, 1) for extra in record_extra_text(record)),
        ]
        expected = oracle_counts(texts, record.language)
        assert glossary.concept_counts(texts, record.language) == expected
        assert record_concepts(record) == [c for c in sorted(expected) for _ in range(expected[c])]


def test_real_pages_are_tagged_as_before() -> None:
    texts = real_texts()
    if not texts:
        pytest.skip("the shared real-world corpora are not here")
    for i, text in enumerate(texts):
        assert_same([(text, 1)], LANGUAGE_CASES[i % len(LANGUAGE_CASES)])


def test_long_texts_share_the_budget_as_before() -> None:
    # the budget of MAX_CONCEPT_TEXT characters runs over the texts in order
    rng = random.Random(5)
    long_text = " ".join(glossary_soup(rng, 2000))
    assert len(long_text) > 2 * glossary.MAX_CONCEPT_TEXT
    for language in LANGUAGE_CASES:
        texts: list[tuple[str | None, int]] = [("Food fair " * 3, 3), (long_text, 1)]
        assert_same([*texts, ("credit insurance", 1)], language)
        # past the budget, a text is not read
        after = glossary.concept_counts([*texts, ("credit insurance", 5)], language)
        assert after == glossary.concept_counts(texts, language)


def test_texts_of_stop_words_only_and_empty_texts() -> None:
    for text in ["de la", "the", "en", "", "  ", "_", "à", "Y"]:
        for language in LANGUAGE_CASES:
            assert_same([(text, 1), (None, 2)], language)


def test_words_are_remembered_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    matcher = glossary.glossary().matcher
    monkeypatch.setattr(glossary, "MAX_WORDS_KEPT", 50)
    matcher.words.clear()
    text = " ".join(f"word{i}" for i in range(120)) + " credit insurance"
    assert glossary.concepts_in([text], "en") >= {"credit_insurance"}
    assert len(matcher.words) <= 50
    # starting afresh changes nothing found
    assert_same([(text, 1)], "en")
