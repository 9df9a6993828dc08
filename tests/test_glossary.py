"""The multilingual glossary (domain/data/glossary.yml) and the expansion of queries with it."""

from __future__ import annotations

import time

import pytest

from search_api.domain import glossary, words
from search_api.domain.vocab import FINANCE_INSTRUMENTS, PROVIDER_TYPES, REQUIREMENT_TYPES, SECTORS
from search_api.search.base import Phrase
from search_api.search.request import SearchRequest, expand_text

GROUPS_OF_VOCABULARIES = {
    "requirement_types": REQUIREMENT_TYPES,
    "finance_instruments": FINANCE_INSTRUMENTS,
    "provider_types": PROVIDER_TYPES,
    "sectors": SECTORS,
}


def test_every_entry_has_words_in_every_language() -> None:
    # The translation-completeness check of the glossary, as tests/test_i18n.py's of the pages
    problems = [
        f"{entry.group}/{entry.id}: no {lang} words"
        for entry in glossary.glossary().entries
        for lang in words.LANGUAGES
        if not [t for t in entry.terms.get(lang, ()) if t.strip()]
    ]
    assert not problems, "\n".join(problems)


def test_the_completeness_check_names_what_is_missing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "glossary.yml"
    path.write_text("sectors:\n  - {id: toys, en: [toy], fr: [jouet]}\n", encoding="utf-8")
    monkeypatch.setattr(glossary, "DATA_FILE", path)
    glossary.glossary.cache_clear()
    try:
        (entry,) = glossary.glossary().entries
        assert entry.terms == {"en": ("toy",), "fr": ("jouet",)}
        assert "es" not in entry.terms  # what the test above reports as "sectors/toys: no es"
    finally:
        glossary.glossary.cache_clear()


@pytest.mark.parametrize(("group", "values"), sorted(GROUPS_OF_VOCABULARIES.items()))
def test_every_vocabulary_value_has_an_entry(group: str, values: tuple[str, ...]) -> None:
    # "packaging" is a requirement type and a sector: one entry serves both
    ids = {e.id for e in glossary.glossary().entries}
    assert set(values) <= ids, sorted(set(values) - ids)


def test_no_phrase_names_two_entries() -> None:
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    clashes = []
    for entry in glossary.glossary().entries:
        for lang, ws in entry.phrases():
            assert lang is not None
            key = (lang, tuple(words.fold(w) for w in ws))
            if key in seen and seen[key] != entry.id:
                clashes.append(f"{lang} {' '.join(ws)}: {seen[key]} and {entry.id}")
            seen.setdefault(key, entry.id)
    assert not clashes, "\n".join(clashes)


def test_stems_two_entries_share_are_found_as_written_only() -> None:
    # Spanish "seguro" (insurance) and "seguridad" (safety) share the stem "segur"
    (group,) = alternatives("seguro")
    assert "insurance" in group and "safety" not in group
    (group,) = alternatives("seguridad")
    assert "safety" in group and "insurance" not in group
    assert glossary.expand("seguros", 32) == [glossary.Group(("seguros",), None, None)]


def alternatives(q: str) -> list[set[str]]:
    """Per group of the query, the words it finds: the glossary terms of its concept (all
    languages), or the words as typed."""
    book = glossary.glossary()
    out = []
    for group in glossary.expand(q, 32):
        if group.concept is None:
            out.append({" ".join(group.words)})
            continue
        terms = book.by_id[group.concept].terms.values()
        out.append({" ".join(words.content_tokens(t)) for ts in terms for t in ts})
    return out


@pytest.mark.parametrize(
    ("q", "english"),
    [
        ("emballage", "packaging"),
        ("emballages", "packaging"),
        ("étiquetage", "labelling"),
        ("etiquetage", "labelling"),
        ("etiquetado", "labelling"),
        ("envase", "packaging"),
        ("envases", "packaging"),
        ("embalaje", "packaging"),
        ("financement", "financing"),
        ("assurance-crédit", "credit insurance"),
        ("seguro de crédito", "credit insurance"),
        ("garantía", "guarantee"),
        ("garantias", "guarantee"),
        ("anacardos", "cashew"),
    ],
)
def test_french_and_spanish_words_add_their_english(q: str, english: str) -> None:
    (group,) = alternatives(q)
    assert english in group


def test_and_english_adds_french_and_spanish() -> None:
    (group,) = alternatives("labelling")
    assert {"étiquetage", "etiquetado"} <= group
    (group,) = alternatives("credit insurance")
    assert {"assurance crédit", "seguro crédito"} <= group
    (group,) = glossary.expand("credit insurance", 32)
    assert group == glossary.Group(("credit", "insurance"), ("en",), "credit_insurance")


def test_phrases_longest_first_and_words_of_their_own() -> None:
    # "salon alimentaire": two groups, a fair and food; "the" and "de" are stop words
    fair, food = alternatives("le salon alimentaire")
    assert {"salon", "trade show", "feria"} <= fair and {"food", "alimento"} <= food
    # a phrase of the glossary is one group, not two
    assert len(alternatives("seguro de crédito")) == 1
    # words the glossary does not know are searched as typed, in no language
    assert glossary.expand("Gulfood 2027", 32) == [
        glossary.Group(("Gulfood",), None, None),
        glossary.Group(("2027",), None, None),
    ]
    # only stop words: they are the query
    assert [g.words for g in glossary.expand("de la", 32)] == [("de",), ("la",)]
    assert glossary.expand("", 32) == [] and glossary.expand(None, 32) == []


def test_query_words_are_capped() -> None:
    assert len(glossary.expand(" ".join(f"w{i}" for i in range(500)), 32)) == 32


def test_requests_carry_the_expansion_to_the_backend() -> None:
    query = SearchRequest(q="emballage").to_query()
    (group,) = query.text
    assert group == (Phrase(words=("emballage",), language="fr"), Phrase(concept="packaging"))
    assert SearchRequest().to_query().text == ()
    assert SearchRequest(q="Gulfood").to_query().text == ((Phrase(words=("Gulfood",)),),)


@pytest.mark.parametrize(
    ("texts", "language", "concepts"),
    [
        (["Food trade shows"], "en", {"food", "trade_fair"}),
        (["Credit insurance for exporters"], "en", {"credit_insurance", "insurance", "export"}),
        (["Étiquetage des emballages alimentaires"], "fr", {"labelling", "packaging", "food"}),
        (["Seguro de crédito a la exportación"], "es", {"credit_insurance", "insurance"}),
        (["Garantías para una pyme"], None, {"guarantee", "sme"}),
        (["Registration opens in March"], "en", {"documentation"}),
        ([None, ""], "en", set()),
    ],
)
def test_records_are_tagged_with_the_concepts_their_text_names(
    texts: list[str | None], language: str | None, concepts: set[str]
) -> None:
    assert concepts <= glossary.concepts_in(texts, language)
    if not concepts:
        assert glossary.concepts_in(texts, language) == set()


def test_a_french_word_is_never_tagged_through_english_stems() -> None:
    # "marché" is no glossary word; "March" in an English text names nothing either
    assert glossary.concepts_in(["Registration opens in March"], "en") == {"documentation"}


def test_expansion_is_cheap() -> None:
    # Precomputed maps: a few stemmer calls and dict lookups per word. Not a speed target
    # (those live in bench/), a guard against an accidental scan of the glossary per word.
    expand_text("warm up")
    queries = ["salon alimentaire", "assurance-crédit", "emballages alimentaires", "gulfood"]
    start = time.perf_counter()
    for _ in range(50):
        for q in queries:
            expand_text(q)
    per_query = (time.perf_counter() - start) / 200
    assert per_query < 0.005
