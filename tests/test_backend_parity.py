"""Both search backends answer the same on the real starter catalogue (208 records): same
totals, the same records and the same facet counts for the searches users make. The contract
suite checks each behaviour on small fixtures; this checks the two agree on real data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from crawlers.demo import load_catalogue
from search_api.search.base import SearchBackend, SearchResult
from search_api.search.request import SearchRequest
from search_api.search.tantivy import TantivyBackend
from search_api.services import search as searching
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.once import built_once

QUERIES: list[dict[str, Any]] = [
    {"q": "coffee"},
    {"q": "labelling", "kind": ("requirement",)},
    {"q": "export credit insurance"},
    {"q": "Dusseldorf"},  # the catalogue spells it Düsseldorf
    {"q": "medellín"},
    {"market": ("FR",)},
    {"market": ("EU",), "kind": ("requirement",)},
    {"market": ("KE",), "kind": ("finance",)},
    {"hs": "0901"},
    {"hs": "09", "market": ("FR",)},
    {"kind": ("requirement",), "date_from": "2020-01-01", "date_to": "2026-12-31"},
    {"date_from": "2022-01-05", "date_to": "2024-03-20"},
    {"date_from": "2026-01-01"},
    {"sector": ("food",)},
    {"kind": ("finance",), "origin": "KE"},
    {"kind": ("finance",), "instrument": ("credit_insurance",)},
    {"q": "packaging", "market": ("US",)},
]


def _load(data_dir: Path) -> None:
    assert load_catalogue(Settings(data_dir=data_dir))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    # Loading takes seconds: once for the run, whichever test process asks first.
    data_dir = built_once(tmp_path_factory, "catalogue", _load)
    store = Store(Settings(data_dir=data_dir).sqlalchemy_url)
    try:
        return list(store.iter_records())
    finally:
        store.close()


# Module scope: the tests only search, and indexing the catalogue twice costs more than they do.
@pytest.fixture(scope="module")
def backends(
    catalogue: list,  # type: ignore[type-arg]
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SearchBackend, SearchBackend]]:
    from tests.helpers.es_server import fresh_backend

    tantivy = TantivyBackend(tmp_path_factory.mktemp("parity") / "index")
    elastic = fresh_backend()
    try:
        for backend in (tantivy, elastic):
            backend.index(catalogue)
        yield tantivy, elastic
    finally:
        tantivy.close()
        elastic.close()


def answer(backend: SearchBackend, raw: dict[str, Any]) -> SearchResult:
    params = {k: v for k, v in raw.items() if k not in ("date_from", "date_to")}
    for k in ("date_from", "date_to"):
        if k in raw:
            params[k] = date.fromisoformat(raw[k])
    return searching.search(backend, SearchRequest.from_fields({**params, "size": 100}).to_query())


def test_the_catalogue_is_big_enough_to_mean_something(catalogue: list) -> None:  # type: ignore[type-arg]
    assert len(catalogue) >= 200
    assert {r.kind for r in catalogue} == {"fair", "requirement", "finance"}


@pytest.mark.parametrize("raw", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_both_backends_answer_the_same(
    backends: tuple[SearchBackend, SearchBackend], raw: dict[str, Any]
) -> None:
    tantivy, elastic = (answer(b, raw) for b in backends)
    assert tantivy.total > 0, "a query that finds nothing compares nothing"
    assert tantivy.total == elastic.total
    assert {i["id"] for i in tantivy.items} == {i["id"] for i in elastic.items}
    assert tantivy.facets == elastic.facets
    if "q" not in raw:  # sorted by date: the same order too
        assert [i["id"] for i in tantivy.items] == [i["id"] for i in elastic.items]
