"""The outbox makes the index derivable: it may lag or be rebuilt, but never misses a change."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bench.generate import record_dict
from search_api.domain.records import AnyRecord, parse_record
from search_api.errors import SearchUnavailable
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.search.indexer import drain_outbox, reindex
from search_api.search.tantivy import TantivyBackend
from search_api.search.tantivy import backend as tantivy_backend
from search_api.store import Store
from tests.helpers.catalogue import FILES, load
from tests.helpers.factories import fair
from tests.helpers.sites import REALWORLD

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")


class FlakyBackend(SearchBackend):
    """Wraps a real backend; refuses writes while `down` is set (as an unreachable index would)."""

    name = "flaky"

    def __init__(self, inner: SearchBackend) -> None:
        self.inner, self.down = inner, False

    def _check(self) -> None:
        if self.down:
            raise SearchUnavailable("index down")

    def index(self, records: Sequence[AnyRecord]) -> dict[str, str]:
        self._check()
        return self.inner.index(records)

    def delete(self, ids: Sequence[str]) -> None:
        self._check()
        self.inner.delete(ids)

    def search(self, query: SearchQuery) -> SearchResult:
        return self.inner.search(query)

    def rebuild(self, records: Iterable[AnyRecord]) -> int:
        self._check()
        return self.inner.rebuild(records)

    def count(self) -> int:
        return self.inner.count()

    def ping(self) -> bool:
        return not self.down


def ids(backend: SearchBackend) -> list[str]:
    return sorted(i["id"] for i in backend.search(SearchQuery(size=100)).items)


def test_drain_applies_upserts_and_deletes(store: Store, backend: SearchBackend) -> None:
    store.upsert_records([fair("t_src:a"), fair("t_src:b")])
    assert drain_outbox(store, backend) == 2
    assert ids(backend) == ["t_src:a", "t_src:b"]
    store.delete_record("t_src:a")
    store.upsert_records([fair("t_src:b", "Renamed Fair")])
    drain_outbox(store, backend)
    assert ids(backend) == ["t_src:b"]
    assert backend.search(SearchQuery(q="renamed")).total == 1
    assert store.outbox_size() == 0


def test_a_record_that_cannot_be_indexed_is_reported_and_never_blocks_the_rest(
    store: Store, backend: SearchBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that validates but whose index document cannot be built (a bug, or a value
    the index refuses): the others of its batch are indexed, the outbox moves on, and the
    record is reported as what it is, not as a failed index write."""
    if not isinstance(backend, TantivyBackend):
        pytest.skip("the embedded backend's writer (Elasticsearch: tests/test_es_queries.py)")
    store.upsert_records([fair("t_src:a", "Old title"), fair("t_src:b")])
    drain_outbox(store, backend)
    real = tantivy_backend.to_document

    def to_document(record: AnyRecord) -> Any:
        if record.id == "t_src:a":
            raise ValueError("a value the index refuses")
        return real(record)

    monkeypatch.setattr(tantivy_backend, "to_document", to_document)
    store.upsert_records([fair("t_src:a", "New title"), fair("t_src:b", "B renamed")])
    store.upsert_records([fair("t_src:c", "Third fair")])
    assert drain_outbox(store, backend, batch=2) == 3
    assert store.outbox_size() == 0
    # the others indexed; the failed record's older version is not left findable either
    assert ids(backend) == ["t_src:b", "t_src:c"]
    assert backend.search(SearchQuery(q="renamed")).total == 1
    assert backend.search(SearchQuery(q="old title")).total == 0
    problems = store.record_problems()
    assert [(p.record_id, p.source_id) for p in problems] == [("t_src:a", "t_src")]
    assert problems[0].problem == (
        "record 't_src:a' could not be indexed: ValueError: a value the index refuses"
    )
    # a rebuild skips it the same way
    assert backend.rebuild(store.iter_records()) == 2

    # once it can be indexed again, the next crawl indexes it and clears the problem, with
    # no change in the change feed: the record is as it was
    monkeypatch.setattr(tantivy_backend, "to_document", real)
    last = store.last_change_id()
    store.upsert_records([fair("t_src:a", "New title")])
    assert store.changes_after(last, 10) == []
    drain_outbox(store, backend)
    assert ids(backend) == ["t_src:a", "t_src:b", "t_src:c"]
    assert store.record_problems() == []


def test_a_streamed_drain_builds_the_index_a_list_of_records_does(
    store: Store, tmp_path: Path
) -> None:
    """The drain hands the backend records decoded as it iterates them: on the catalogue and
    generated records, changed and repeated across batches, the index holds the same
    documents and answers the same as one indexed from a list of the same records."""
    rng = random.Random(11)
    records = [r for stem in FILES for r in load(stem)]
    records += [parse_record(record_dict(i, rng)) for i in range(400)]
    records += real_page_records()
    store.upsert_records(records)
    store.upsert_records(  # second versions, so ids repeat in the outbox
        [r.model_copy(update={"title": f"{r.title} (moved)"}) for r in records[::7]]
    )
    streamed = TantivyBackend(tmp_path / "streamed")
    listed = TantivyBackend(tmp_path / "listed")
    drain_outbox(store, streamed, batch=37)
    listed.index(list(store.iter_records()))
    assert streamed.count() == listed.count() == len({r.id for r in records})
    # (as sets: the streamed index also holds deleted first versions, which tantivy's BM25
    # statistics count until a merge, so equal scores may tie in another order)
    for query in (
        SearchQuery(q="moved", size=100),
        SearchQuery(q="coffee", size=100),
        SearchQuery(q="salon", size=100),
        SearchQuery(kind=("fair",), markets=("DE",), size=100),
    ):
        a, b = streamed.search(query), listed.search(query)
        assert (a.total, a.facets) == (b.total, b.facets), query
        assert sorted(a.items, key=by_id) == sorted(b.items, key=by_id), query
    assert every_document(streamed) == every_document(listed)


def real_page_records(limit: int = 300) -> list[AnyRecord]:
    """Records whose texts are pieces of the shared real-world pages (their words, scripts
    and stray characters as varied as crawls bring), when the corpus is here."""
    texts: list[str] = []
    if REALWORLD.is_dir():
        for path in sorted(p for p in REALWORLD.rglob("*") if p.is_file()):
            text = re.sub(r"<[^>]*>", " ", path.read_bytes().decode("utf-8", errors="replace"))
            texts += [text[i : i + 3000] for i in range(0, len(text), 3000)]
    languages = ("en", "fr", "es", "de", None)
    return [
        parse_record(
            {
                "id": f"t_real:{i}",
                "kind": ("fair", "requirement", "finance")[i % 3],
                "title": " ".join(text.split()[:12])[:400] or f"page {i}",
                "summary": " ".join(text.split()[12:60])[:4000] or None,
                "text": text,
                "language": languages[i % len(languages)],
                "source_id": "t_real",
                "markets": [("DE", "KE", "EU", "BR")[i % 4]],
            }
        )
        for i, text in enumerate(texts[:limit])
    ]


def by_id(item: dict[str, Any]) -> str:
    return str(item["id"])


def every_document(backend: SearchBackend) -> list[dict[str, Any]]:
    """Every stored document of the index, in id order."""
    items: list[dict[str, Any]] = []
    page = 1
    while found := backend.search(SearchQuery(size=100, page=page, sort="date")).items:
        items += found
        page += 1
    assert len(items) == backend.count()
    return sorted(items, key=by_id)


def test_changes_survive_an_index_outage(store: Store, backend: SearchBackend) -> None:
    flaky = FlakyBackend(backend)
    flaky.down = True
    store.upsert_records([fair("t_src:a"), fair("t_src:b")])
    with pytest.raises(SearchUnavailable):
        drain_outbox(store, flaky)
    assert store.outbox_size() == 2  # nothing acknowledged, nothing lost
    flaky.down = False
    drain_outbox(store, flaky)
    assert ids(backend) == ["t_src:a", "t_src:b"] and store.outbox_size() == 0


def test_reindex_rebuilds_from_the_system_of_record(
    store: Store, backend: SearchBackend, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    store.upsert_records([fair(f"t_src:{i}") for i in range(30)])
    drain_outbox(store, backend)
    # Lose the index entirely: a fresh, empty one on another path.
    from search_api.search.tantivy import TantivyBackend

    fresh = TantivyBackend(tmp_path / "new-index")
    assert fresh.count() == 0
    assert reindex(store, fresh) == 30
    assert fresh.count() == 30 and len(ids(fresh)) == 30
    assert store.outbox_size() == 0


def test_an_outdated_index_is_rebuilt_before_draining(store: Store, backend: SearchBackend) -> None:
    class Outdated(FlakyBackend):
        rebuilt = False

        def needs_rebuild(self) -> bool:
            return not self.rebuilt

        def rebuild(self, records: Iterable[AnyRecord]) -> int:
            self.rebuilt = True
            return super().rebuild(records)

    store.upsert_records([fair("t_src:a"), fair("t_src:b")])
    outdated = Outdated(backend)
    assert drain_outbox(store, outdated) == 2  # the rebuild indexed both records
    assert outdated.rebuilt and ids(backend) == ["t_src:a", "t_src:b"]
    assert store.outbox_size() == 0
