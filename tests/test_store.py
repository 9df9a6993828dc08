from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from search_api.domain.sources import parse_source
from search_api.store import RunStats, Store
from tests.helpers.factories import fair

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")

T0 = datetime(2026, 1, 1, 12, 0, 0)
T1 = datetime(2026, 1, 2, 12, 0, 0)
T2 = datetime(2026, 1, 3, 12, 0, 0)


def test_upsert_maintains_provenance_and_outbox(store: Store) -> None:
    stats = store.upsert_records([fair(), fair(id="t_src:2", title="Tea Fair")], now=T0)
    assert (stats.new, stats.changed, stats.unchanged) == (2, 0, 0)
    assert [op for _, _, op in store.fetch_outbox()] == ["upsert", "upsert"]
    store.ack_outbox([row_id for row_id, _, _ in store.fetch_outbox()])

    stats = store.upsert_records([fair(), fair(id="t_src:2", title="Tea Fair 2027")], now=T1)
    assert (stats.new, stats.changed, stats.unchanged) == (0, 1, 1)
    assert [rid for _, rid, _ in store.fetch_outbox()] == ["t_src:2"]

    unchanged = store.get_record("t_src:1")
    assert unchanged is not None
    assert (unchanged.first_seen, unchanged.last_seen, unchanged.last_changed) == (T0, T1, T0)
    changed = store.get_record("t_src:2")
    assert changed is not None and changed.title == "Tea Fair 2027"
    assert (changed.first_seen, changed.last_seen, changed.last_changed) == (T0, T1, T1)
    assert changed.content_hash == changed.content_fingerprint()
    assert (unchanged.version, changed.version) == (1, 2)
    assert store.count_records() == 2


def test_one_id_twice_in_a_batch_is_one_row_at_its_last_version(store: Store) -> None:
    # A crawl can reach one record twice; the store must not insert it twice.
    stats = store.upsert_records(
        [fair(), fair(title="Coffee Expo Nairobi"), fair(id="t_src:2", title="Tea Fair")], now=T0
    )
    assert (stats.new, stats.changed, stats.unchanged) == (2, 1, 0)
    record = store.get_record("t_src:1")
    assert record is not None
    assert (record.title, record.version, record.first_seen) == ("Coffee Expo Nairobi", 2, T0)
    assert [rid for _, rid, _ in store.fetch_outbox()] == ["t_src:1", "t_src:1", "t_src:2"]
    again = store.upsert_records([fair(title="Coffee Expo Nairobi")] * 2, now=T1)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 2)
    assert store.get_record("t_src:1").last_seen == T1  # type: ignore[union-attr]


# SQLite trigger syntax: the PostgreSQL equivalent follows.
@pytest.mark.databases("sqlite")
def test_outbox_row_is_written_in_the_same_transaction(store: Store) -> None:
    # A failing batch (duplicate primary key inside one transaction) must leave neither
    # records nor outbox rows behind.
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER boom BEFORE INSERT ON outbox "
                "WHEN NEW.record_id = 't_src:bad' BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        )
    with pytest.raises(IntegrityError):
        store.upsert_records([fair(), fair(id="t_src:bad")])
    assert store.count_records() == 0
    assert store.fetch_outbox() == []


@pytest.mark.databases("sqlite")
def test_sqlite_is_in_wal_mode(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_delete_writes_a_delete_to_the_outbox(store: Store) -> None:
    store.upsert_records([fair()])
    store.ack_outbox_upto(store.outbox_max_id())
    store.delete_record("t_src:1")
    assert store.fetch_outbox()[0][1:] == ("t_src:1", "delete")
    assert store.get_record("t_src:1") is None


def test_runs_are_recorded_with_stats_and_errors(store: Store) -> None:
    run_id = store.start_run("t_src")
    assert store.get_run(run_id).status == "running"
    stats = RunStats(
        pages=3,
        items_new=2,
        items_failed=1,
        errors=[{"url": "http://x/a", "message": "broken JSON-LD"}],
    )
    store.finish_run(run_id, "succeeded", stats, "ok")
    run = store.get_run(run_id)
    assert (run.status, run.pages, run.items_new, run.items_failed) == ("succeeded", 3, 2, 1)
    assert run.errors == [{"url": "http://x/a", "message": "broken JSON-LD"}]
    assert run.finished_at is not None and run.finished_at >= run.started_at


def test_records_missing_for_several_runs_are_withdrawn_not_deleted(store: Store) -> None:
    store.upsert_records([fair(), fair(id="t_src:2")], now=T0)
    for _ in range(2):
        assert store.mark_missing("t_src", {"t_src:1"}, withdraw_after=3) == 0
    store.ack_outbox([row_id for row_id, _, _ in store.fetch_outbox()])
    assert store.mark_missing("t_src", {"t_src:1"}, withdraw_after=3) == 1
    gone = store.get_record("t_src:2")
    assert gone is not None and gone.withdrawn and gone.version == 2
    assert gone.last_changed is not None and gone.last_changed > T0
    assert [rid for _, rid, _ in store.fetch_outbox()] == ["t_src:2"]  # the index hears of it
    kept = store.get_record("t_src:1")
    assert kept is not None and not kept.withdrawn and kept.version == 1
    assert store.mark_missing("t_src", {"t_src:1"}, withdraw_after=3) == 0  # counted once
    # It comes back when the source publishes it again.
    store.upsert_records([fair(id="t_src:2")], now=T2)
    back = store.get_record("t_src:2")
    assert back is not None and not back.withdrawn


def test_sources_round_trip(store: Store) -> None:
    spec = parse_source(
        dict(
            id="de_example_fairs",
            name="Example",
            kind="fair",
            format="ical",
            start_urls=["https://example.org/fairs.ics"],
        )
    )
    store.add_source(spec)
    assert store.get_source("de_example_fairs") == spec
    assert [s.id for s in store.list_sources()] == ["de_example_fairs"]
    store.remove_source("de_example_fairs")
    assert store.list_sources() == []


def test_iter_records_pages_through_everything(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.migrate()
    store.upsert_records([fair(id=f"t_src:{i:04d}") for i in range(2500)])
    assert sum(1 for _ in store.iter_records(batch=1000)) == 2500


def _age_hash(store: Store, record_id: str, data: dict | None = None) -> None:
    """Make a row look written by older code: a content hash computed over other text (rows
    migration 0011 cleaned kept theirs), and optionally an older form of its JSON."""
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE records SET content_hash = 'from-older-code' WHERE id = :id"),
            {"id": record_id},
        )
        if data is not None:
            conn.execute(
                text("UPDATE records SET data = :data WHERE id = :id"),
                {"id": record_id, "data": json.dumps(data)},
            )


def test_a_new_hash_without_a_changed_field_is_a_quiet_touch(store: Store) -> None:
    store.upsert_records([fair(), fair(id="t_src:2", title="Tea Fair")], now=T0)
    store.ack_outbox([row_id for row_id, _, _ in store.fetch_outbox()])
    _age_hash(store, "t_src:1")
    last = store.last_change_id()

    stats = store.upsert_records([fair(), fair(id="t_src:2", title="Tea Fair 2027")], now=T1)
    # the changed record is the only change: no event (so no webhook) for the aged row
    assert (stats.new, stats.changed, stats.unchanged) == (0, 1, 1)
    changes = store.changes_after(last, 100)
    assert [(c.record_id, c.op, c.fields) for c in changes] == [("t_src:2", "changed", ["title"])]
    # stored JSON differs only in what a touch rewrites: the index is left alone
    assert [rid for _, rid, _ in store.fetch_outbox()] == ["t_src:2"]
    touched = store.get_record("t_src:1")
    assert touched is not None
    assert (touched.version, touched.last_seen, touched.last_changed) == (1, T1, T0)
    assert touched.content_hash == touched.content_fingerprint()
    with store.engine.connect() as conn:
        column = conn.execute(text("SELECT content_hash FROM records WHERE id = 't_src:1'"))
        assert column.scalar() == touched.content_fingerprint()

    # the new hash is kept: the next crawl finds the record unchanged by the ordinary check
    again = store.upsert_records([fair()], now=T2)
    assert (again.changed, again.unchanged) == (0, 1)
    assert store.changes_after(last, 100) == changes


def test_a_quiet_touch_reindexes_when_the_stored_json_differs(store: Store) -> None:
    # An undated series older code stored as "scheduled": the same record to a reader (no
    # changed field), but the index must get its status as the model has it now.
    series = fair(id="t_src:series", start_date=None, end_date=None)
    store.upsert_records([series], now=T0)
    store.ack_outbox([row_id for row_id, _, _ in store.fetch_outbox()])
    old = json.loads(store.get_record_json(["t_src:series"])["t_src:series"])
    _age_hash(store, "t_src:series", {**old, "status": "scheduled"})
    last = store.last_change_id()

    stats = store.upsert_records([series], now=T1)
    assert (stats.changed, stats.unchanged) == (0, 1)
    assert store.changes_after(last, 100) == []
    assert [rid for _, rid, _ in store.fetch_outbox()] == ["t_src:series"]
    stored = json.loads(store.get_record_json(["t_src:series"])["t_src:series"])
    assert stored["status"] is None and stored["version"] == 1


def test_a_real_change_under_a_new_hash_is_still_a_change(store: Store) -> None:
    store.upsert_records([fair()], now=T0)
    _age_hash(store, "t_src:1")
    last = store.last_change_id()
    stats = store.upsert_records([fair(city="Mombasa")], now=T1)
    assert stats.changed == 1
    assert [(c.op, c.fields) for c in store.changes_after(last, 100)] == [("changed", ["city"])]
    assert store.get_record("t_src:1").version == 2  # type: ignore[union-attr]


def test_stored_json_by_ids_reads_every_chunk_with_one_prepared_statement(store: Store) -> None:
    """Webhooks and the change feed read the stored JSON of up to thousands of ids: one
    statement built once (compiled and cache-keyed once), not one built per chunk of 500."""
    from sqlalchemy import event

    store.upsert_records([fair(id=f"t_src:{i:04d}") for i in range(1100)], now=T0)
    statements: list[object] = []

    def seen(conn, clause, *args):  # type: ignore[no-untyped-def]
        statements.append(clause)

    event.listen(store.engine, "before_execute", seen)
    try:
        wanted = [f"t_src:{i:04d}" for i in range(1100)] + ["t_src:0001", "t_src:nope"]
        first = store.get_record_json(wanted)
        second = store.get_record_json(wanted[:600])
    finally:
        event.remove(store.engine, "before_execute", seen)
    assert sorted(first) == [f"t_src:{i:04d}" for i in range(1100)]  # duplicates once, none missing
    assert first["t_src:0001"] == store.get_record_json(["t_src:0001"])["t_src:0001"]
    assert second == {k: first[k] for k in wanted[:600]}
    assert len(statements) == 3 + 2  # chunks of 500
    assert len({id(s) for s in statements}) == 1


# --------------------------------------------------------------------------- PostgreSQL only


@pytest.mark.databases("postgresql")
def test_outbox_row_is_written_in_the_same_transaction_pg(store: Store) -> None:
    # The outbox insert of the second record fails: neither record nor any outbox row stays.
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.record_id = 't_src:bad' THEN "
                "RAISE EXCEPTION 'x' USING ERRCODE = 'unique_violation'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        conn.execute(
            text("CREATE TRIGGER boom BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION boom()")
        )
    with pytest.raises(IntegrityError):
        store.upsert_records([fair(), fair(id="t_src:bad")])
    assert store.count_records() == 0
    assert store.fetch_outbox() == []


@pytest.mark.databases("postgresql")
def test_the_store_really_is_on_postgresql(store: Store) -> None:
    assert store.engine.dialect.name == "postgresql"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar().startswith("tp_test_")


def test_sessions_are_in_utc_whatever_the_server_says(pg_url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import create_engine

    admin = create_engine(pg_url)
    with admin.begin() as conn:
        name = conn.execute(text("SELECT current_database()")).scalar()
        conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'"))
    admin.dispose()
    store = Store(pg_url)
    store.migrate()
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
        # An aware timestamp is stored as its UTC wall time, like the naive ones utcnow() makes.
        run = store.start_run("t_src")
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE runs SET started_at = :t WHERE id = :id"),
                {"t": datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), "id": run},
            )
        assert store.get_run(run).started_at == datetime(2027, 1, 2, 3, 4, 5)
    finally:
        store.close()


@pytest.mark.databases("postgresql")
def test_connections_dropped_by_the_server_are_replaced(store: Store) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    store.upsert_records([fair()])
    assert store.count_records() == 1  # a pooled connection now exists
    other = create_engine(store.url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
    finally:
        other.dispose()
    assert killed >= 1
    # A server restart or an idle timeout looks the same to the API: no error, no 500.
    assert store.count_records() == 1
