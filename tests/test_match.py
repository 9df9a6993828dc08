"""search/match.py selects exactly the records the embedded backend finds, for the same searches:
the starter catalogue (200 real records in many languages) and the contract suite's samples,
under every kind of filter the API takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_api.domain.records import AnyRecord
from search_api.search.base import SearchQuery
from search_api.search.match import analyse, record_matches
from search_api.search.request import SearchRequest
from search_api.search.tantivy import TantivyBackend
from search_api.services.search import every_item
from tests.helpers.catalogue import load
from tests.helpers.samples import sample_records

SEARCHES: list[dict[str, object]] = [
    {},
    {"q": "food"},
    {"q": "Köln"},
    {"q": "koln fair"},
    {"q": "étiquetage"},
    {"q": "labelling requirements"},
    {"q": "export credit"},
    {"q": "café"},
    {"q": "straße"},
    {"q": "title:foo AND ("},
    {"kind": ["requirement"]},
    {"kind": ["fair", "finance"]},
    {"market": ["FR"]},
    {"market": ["EU"]},
    {"market": ["KE", "US"]},
    {"sector": ["food"]},
    {"status": ["cancelled"]},
    {"status": ["withdrawn"]},
    {"status": ["in_force", "adopted"]},
    {"lang": ["fr"]},
    {"hs": "09"},
    {"hs": "0901"},
    {"hs": "190590"},
    {"hs": "2204"},
    {"instrument": ["credit_insurance"]},
    {"provider_type": ["eca"]},
    {"origin": "KE"},
    {"origin": "Ghana", "kind": ["finance"]},
    {"sme_focus": "true"},
    {"sme_focus": "false"},
    {"amount_min": "100000"},
    {"amount_max": "50000", "currency": "EUR"},
    {"amount_min": "1000000", "amount_max": "5000000"},
    {"date_from": "2026-01-01"},
    {"date_to": "2025-12-31"},
    {"date_from": "2025-10-05", "date_to": "2025-10-06"},
    {"date_from": "2027-02-01", "date_to": "2027-03-31", "kind": ["fair"]},
    {"market": ["DE"], "sector": ["food"], "q": "fair"},
    {"kind": ["requirement"], "market": ["EU"], "hs": "0901"},
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[AnyRecord], TantivyBackend]:
    records = [r for stem in ("fairs", "finance", "requirements") for r in load(stem)]
    records += sample_records()
    backend = TantivyBackend(Path(tmp_path_factory.mktemp("match")) / "index")
    backend.index(records)
    return records, backend


def _query(params: dict[str, object]) -> SearchQuery:
    raw = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return SearchRequest.from_query(raw).to_query()  # type: ignore[arg-type]


@pytest.mark.parametrize("params", SEARCHES, ids=[str(s) for s in SEARCHES])
def test_the_matcher_finds_what_the_index_finds(
    corpus: tuple[list[AnyRecord], TantivyBackend], params: dict[str, object]
) -> None:
    records, backend = corpus
    query = _query(params)
    by_index = {item["id"] for item in every_item(backend, query, 100_000)}
    by_matcher = {r.id for r in records if record_matches(query, r)}
    assert by_matcher == by_index
    if params == {}:
        assert len(by_index) > 150  # the corpus is really there


def test_words_are_analysed_like_the_index() -> None:
    assert analyse("Besançon l'Agriculture STRASSE-Straße 2027") == [
        "besancon",
        "l",
        "agriculture",
        "strasse",
        "strasse",
        "2027",
    ]
    # Folding to ASCII only: a Cyrillic letter keeps its breve, as in the index.
    assert analyse("Иркутский") == ["иркутский"]
    assert analyse("x" * 40) == []  # too long to be indexed
