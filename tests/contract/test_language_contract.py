"""Backend contract, languages: records in English, French and Spanish are also found through
their language's stems, and a query's groups of alternatives (the glossary's expansion) are
searched as search/base.py says. Every backend must pass these unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from search_api.domain.records import parse_record
from search_api.search.base import Phrase, SearchBackend, SearchQuery
from tests.helpers.samples import ids


def _rec(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "kind": "requirement", "title": title, "source_id": "t_lang", **kw}


RAW = [
    _rec("fr-label", "Étiquetage des emballages alimentaires", language="fr"),
    _rec("es-label", "Etiquetado de envases", summary="Garantías de crédito", language="es"),
    _rec("en-pack", "Packaging waste rules", summary="Food trade shows", language="en"),
    _rec("en-march", "Registration opens in March", language="en"),
    _rec("de-rec", "Verpackungen und Etiketten", language="de"),
    _rec("no-lang", "Labelling of bottles"),
]
RECORDS = [parse_record(dict(r)) for r in RAW]


@pytest.fixture
def languages(backend: SearchBackend) -> SearchBackend:
    backend.index(RECORDS)
    return backend


def found(backend: SearchBackend, **kw: Any) -> set[str]:
    result = backend.search(SearchQuery(size=100, **kw))
    assert result.total == len(result.items)
    return set(ids(result))


def phrase(*words: str, language: str | None = None) -> Phrase:
    return Phrase(words=words, language=language)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # another form of the word, through the stems of the record's language
        ("étiquetages", {"fr-label"}),
        ("etiquetages", {"fr-label"}),
        ("alimentaire", {"fr-label"}),
        ("envase", {"es-label"}),
        ("garantia", {"es-label"}),  # typed without its accent
        ("show", {"en-pack"}),
        ("rule", {"en-pack"}),
        # the same form always matches, whatever the language
        ("etiketten", {"de-rec"}),
        ("labelling", {"no-lang"}),
        # no stems for other languages or records without one
        ("etikett", set()),
        ("label", set()),
        # a word with letters English does not write is never stemmed as English
        ("marché", set()),
        ("march", {"en-march"}),
    ],
)
def test_records_are_found_through_their_language_stems(
    languages: SearchBackend, q: str, expected: set[str]
) -> None:
    assert found(languages, q=q) == expected


def test_a_phrase_in_one_language_is_stemmed_in_that_language_only(
    languages: SearchBackend,
) -> None:
    assert found(languages, text=((phrase("show", language="en"),),)) == {"en-pack"}
    assert found(languages, text=((phrase("show", language="es"),),)) == set()
    # but a word as written matches in any record
    assert found(languages, text=((phrase("shows", language="es"),),)) == {"en-pack"}


def test_a_concept_finds_the_records_whose_text_names_it(languages: SearchBackend) -> None:
    # tagged at indexing (search/base.py record_concepts): "emballages" names packaging in
    # French, "Packaging" in English; "trade shows" names a trade fair
    packaging = {"fr-label", "es-label", "en-pack"}  # "emballages", "envases", "Packaging"
    assert found(languages, text=((Phrase(concept="packaging"),),)) == packaging
    assert found(languages, text=((Phrase(concept="trade_fair"),),)) == {"en-pack"}
    assert found(languages, text=((Phrase(concept="guarantee"),),)) == {"es-label"}
    # a concept or the words as typed; and every group
    salon = (phrase("salon", language="fr"), Phrase(concept="trade_fair"))
    food = (phrase("alimentaire", language="fr"), Phrase(concept="food"))
    assert found(languages, text=(salon, food)) == {"en-pack"}
    assert found(languages, text=((Phrase(concept="no_such_concept"),),)) == set()


def test_any_alternative_of_a_group_and_every_group(languages: SearchBackend) -> None:
    packaging = (phrase("emballage", language="fr"), phrase("packaging", language="en"))
    assert found(languages, text=(packaging,)) == {"fr-label", "en-pack"}
    fair = (phrase("salon", language="fr"), phrase("trade", "show", language="en"))
    food = (phrase("alimentaire", language="fr"), phrase("food", language="en"))
    assert found(languages, text=(fair, food)) == {"en-pack"}
    # every word of a phrase must be found
    assert found(languages, text=((phrase("trade", "fair", language="en"),),)) == set()
    assert found(languages, text=(packaging, food)) == {"fr-label", "en-pack"}
