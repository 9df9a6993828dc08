"""tests/test_store.py on PostgreSQL, with its two SQLite-specific tests replaced."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from search_api.store import Store
from tests.factories import fair
from tests.test_store import *  # noqa: F403

# SQLite trigger syntax and the WAL pragma: PostgreSQL equivalents follow.
del test_outbox_row_is_written_in_the_same_transaction  # noqa: F821
del test_sqlite_is_in_wal_mode  # noqa: F821


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
