"""Fixtures for the backend contract suite.

Every test in tests/contract talks to a backend only through `SearchBackend`; to run the whole
suite against another backend, add a factory to `BACKEND_FACTORIES` (e.g. an Elasticsearch one
that creates a uniquely named index and skips when no cluster is reachable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from search_api.domain.records import AnyRecord
from search_api.search.base import SearchBackend
from tests.helpers.samples import sample_records


def _tantivy(tmp_path: Path) -> SearchBackend:
    from search_api.search.tantivy import TantivyBackend

    return TantivyBackend(tmp_path / "index")


def _elastic(tmp_path: Path) -> SearchBackend:
    # noida-db started once per session, or TRADEPOINT_ELASTICSEARCH_URL; skips if neither
    from tests.helpers.es_server import fresh_backend

    return fresh_backend()


# name -> factory(tmp_path) returning a fresh, empty backend. Add new backends here.
BACKEND_FACTORIES: dict[str, Callable[[Path], SearchBackend]] = {
    "tantivy": _tantivy,
    "elastic": _elastic,
}


@pytest.fixture(params=sorted(BACKEND_FACTORIES))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    b = BACKEND_FACTORIES[request.param](tmp_path)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def records() -> list[AnyRecord]:
    return sample_records()


@pytest.fixture
def loaded(backend: SearchBackend, records: list[AnyRecord]) -> SearchBackend:
    backend.index(records)
    return backend
