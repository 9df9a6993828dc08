"""The outbox lease: with several API workers, one drainer at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from search_api.domain.records import AnyRecord
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.search.indexer import OUTBOX_LEASE, drain_outbox
from search_api.store import Store
from search_api.store.leases import Lease
from search_api.store.tables import LeaseRow
from tests.helpers.factories import fair

DEADLINE = 60.0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leases.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def stores(db_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, each with its own connections, as two processes have."""
    a, b = Store(db_url), Store(db_url)
    a.migrate()
    yield a, b
    a.close()
    b.close()


class RecordingBackend(SearchBackend):
    """Remembers every write; `index` may be made to wait, to hold a drain in the middle."""

    name = "recording"

    def __init__(self) -> None:
        self.indexed: list[tuple[str, int]] = []
        self.deleted: list[str] = []
        self.entered = threading.Event()
        self.proceed = threading.Event()
        self.proceed.set()
        self.on_index: list[object] = []

    def index(self, records: Sequence[AnyRecord]) -> dict[str, str]:
        self.entered.set()
        assert self.proceed.wait(DEADLINE), "test never let the drain go on"
        for hook in self.on_index:
            hook()  # type: ignore[operator]
        self.indexed += [(r.id, r.version) for r in records]
        return {}

    def delete(self, ids: Sequence[str]) -> None:
        self.deleted += list(ids)

    def search(self, query: SearchQuery) -> SearchResult:  # pragma: no cover - not used
        raise NotImplementedError

    def rebuild(self, records: Iterable[AnyRecord]) -> int:  # pragma: no cover - not used
        raise NotImplementedError

    def count(self) -> int:  # pragma: no cover - not used
        return len(self.indexed)

    def ping(self) -> bool:  # pragma: no cover - not used
        return True


def test_one_holder_at_a_time(stores: tuple[Store, Store]) -> None:
    a = Lease(stores[0], "job", seconds=60)
    b = Lease(stores[1], "job", seconds=60)
    assert a.acquire()
    assert a.acquire()  # holding it already: extended
    assert not b.acquire()
    assert b.current_holder() == a.holder
    a.release()
    assert b.current_holder() is None
    assert b.acquire()
    assert not a.renew()  # a let it go; b holds it now
    assert b.renew()


def test_an_expired_lease_is_taken_over(stores: tuple[Store, Store]) -> None:
    a = Lease(stores[0], "job", seconds=0)  # expires at once, as if its holder had stalled
    b = Lease(stores[1], "job", seconds=60)
    assert a.acquire()
    assert b.acquire()
    assert not a.renew()
    assert not a.acquire()


def test_racing_acquirers_get_one_winner(stores: tuple[Store, Store]) -> None:
    # Eight contenders on two stores, released together; the row does not exist beforehand,
    # so both the conditional UPDATE and the first INSERT are raced.
    leases = [Lease(stores[i % 2], "race", seconds=60) for i in range(8)]
    barrier = threading.Barrier(len(leases))
    results: list[bool] = []
    errors: list[BaseException] = []

    def contend(lease: Lease) -> None:
        try:
            barrier.wait(DEADLINE)
            results.append(lease.acquire())
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]


def test_a_second_drainer_waits_its_turn(stores: tuple[Store, Store]) -> None:
    first_store, second_store = stores
    first_store.upsert_records([fair("t_src:a"), fair("t_src:b")])
    slow, other = RecordingBackend(), RecordingBackend()
    slow.proceed.clear()
    applied: list[int] = []
    worker = threading.Thread(target=lambda: applied.append(drain_outbox(first_store, slow)))
    worker.start()
    try:
        assert slow.entered.wait(DEADLINE)  # the first drainer is in the middle of a batch
        # A newer version arrives; the second drainer must not index it while the first runs.
        second_store.upsert_records([fair("t_src:a", "Renamed Fair")])
        assert drain_outbox(second_store, other) == 0
        assert other.indexed == []
    finally:
        slow.proceed.set()
        worker.join(DEADLINE)
    # The first drainer went on to apply the change made meanwhile: the index ends at the
    # newest version, and the second drainer wrote nothing at all.
    assert applied == [3]
    assert slow.indexed[-1] == ("t_src:a", 2)
    assert other.indexed == []
    assert first_store.outbox_size() == 0
    # The lease was released: the second drainer may drain now.
    second_store.upsert_records([fair("t_src:b", "Another Name")])
    assert drain_outbox(second_store, other) == 1
    assert other.indexed == [("t_src:b", 2)]


def test_a_drainer_that_lost_its_lease_stops_before_writing(stores: tuple[Store, Store]) -> None:
    first_store, second_store = stores
    first_store.upsert_records([fair("t_src:a"), fair("t_src:b")])
    backend = RecordingBackend()
    usurper = Lease(second_store, OUTBOX_LEASE, seconds=60)

    def stall_past_the_lease() -> None:
        # While the first batch is written, the lease runs out and another process takes it.
        with second_store.session() as s, s.begin():
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == OUTBOX_LEASE)
                .values(expires_at=datetime(2000, 1, 1))
            )
        assert usurper.acquire()

    backend.on_index.append(stall_past_the_lease)
    assert drain_outbox(first_store, backend, batch=1) == 1
    assert backend.indexed == [("t_src:a", 1)]  # the second batch was not written
    assert first_store.outbox_size() == 1
    assert usurper.current_holder() == usurper.holder  # not released by the loser
