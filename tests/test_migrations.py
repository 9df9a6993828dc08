"""Alembic migrations: they build exactly the models' schema on SQLite and PostgreSQL, a database
from before migrations is adopted, and concurrent starts do not trip over each other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from search_api.cli import main
from search_api.errors import Conflict
from search_api.settings import Settings
from search_api.store import RunStats, Store
from search_api.store.migrations import (
    SchemaMismatch,
    alembic_config,
    current_revision,
    head_revision,
    schema_differences,
    target_metadata,
    upgrade_from_empty,
)
from search_api.store.tables import RecordRow
from tests.helpers.factories import fair

OUR_TABLES = {
    "records",
    "outbox",
    "sources",
    "runs",
    "api_keys",
    "agency_sessions",
    "subscriptions",
    "subscription_items",
    "subscription_digests",
    "leases",
    "record_problems",
    "record_changes",
    "subscription_reminders",
    "subscription_reminder_emails",
    "webhooks",
    "webhook_deliveries",
    "page_watch",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = create_engine(db_url, poolclass=NullPool)
    yield e
    e.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _where(engine: Engine, table: str, index: str) -> str:
    found = {i["name"]: i for i in inspect(engine).get_indexes(table)}[index]
    assert found["unique"]
    options = found.get("dialect_options", {})
    return str(options.get(f"{engine.dialect.name}_where", ""))


def test_the_models_cover_every_table() -> None:
    assert set(target_metadata().tables) == OUR_TABLES


def test_migrations_from_empty_build_exactly_the_models_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        upgrade_from_empty(conn)
    with engine.connect() as conn:
        assert schema_differences(conn) == []
        assert current_revision(conn) == head_revision()
    assert _tables(engine) == OUR_TABLES | {"alembic_version"}
    # compare_metadata does not look at partial indexes' conditions: check they were kept.
    assert "running" in _where(engine, "runs", "uq_runs_one_running")
    assert "pending" in _where(engine, "subscription_digests", "uq_digest_one_pending")


def test_migrations_downgrade_to_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        upgrade_from_empty(conn)
        command.downgrade(alembic_config(conn), "base")
    assert _tables(engine) == {"alembic_version"}


def test_a_migrated_database_enforces_one_running_run_per_source(
    engine: Engine, db_url: str
) -> None:
    with engine.begin() as conn:
        upgrade_from_empty(conn)
    store = Store(db_url)
    try:
        assert store.migrate() == "current"
        run = store.start_run("t_src")
        with pytest.raises(Conflict):
            store.start_run("t_src")  # the partial unique index refuses a second running run
        store.finish_run(run, "succeeded", RunStats())
        store.start_run("t_src")  # finished runs do not count
    finally:
        store.close()


def test_a_new_database_is_created_and_stamped(db_url: str, engine: Engine) -> None:
    store = Store(db_url)
    assert store.migrate() == "created"
    store.close()
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert schema_differences(conn) == []
    assert "running" in _where(engine, "runs", "uq_runs_one_running")
    again = Store(db_url)
    assert again.migrate() == "current"
    again.close()


def _old_version_database(engine: Engine) -> None:
    """What an earlier version left: `create_all` without migration history, without the
    tables added since (leases), holding data."""
    meta = target_metadata()
    meta.create_all(engine, tables=[t for t in meta.sorted_tables if t.name != "leases"])
    now = datetime(2026, 1, 2, 3, 4, 5)
    with engine.begin() as conn:
        conn.execute(
            RecordRow.__table__.insert().values(
                id="t_src:old",
                kind="fair",
                source_id="t_src",
                data=fair(id="t_src:old").model_dump_json(),
                content_hash="x",
                first_seen=now,
                last_seen=now,
                last_changed=now,
                withdrawn=False,
                version=1,
                missing_runs=0,
            )
        )


def test_a_database_from_before_migrations_is_stamped_and_keeps_its_data(
    db_url: str, engine: Engine
) -> None:
    _old_version_database(engine)
    assert "alembic_version" not in _tables(engine)
    store = Store(db_url)
    try:
        assert store.migrate() == "adopted"
        assert store.get_record("t_src:old") is not None
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            assert schema_differences(conn) == []
    finally:
        store.close()


def test_a_database_from_before_migrations_that_differs_is_left_alone(
    db_url: str, engine: Engine
) -> None:
    _old_version_database(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE records DROP COLUMN missing_runs"))
    before = _tables(engine)
    with pytest.raises(SchemaMismatch, match=r"records\.missing_runs"):
        Store(db_url).migrate()
    assert _tables(engine) == before  # not stamped, no table created


def test_concurrent_first_starts_create_the_schema_once(db_url: str, engine: Engine) -> None:
    # Several API workers, the scheduler and a crawl may all start on an empty database.
    code = "import sys; from search_api.store import Store; print(Store(sys.argv[1]).migrate())"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    assert sorted(out.strip() for out, _ in results) == ["created", "current", "current"]
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_db_commands(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 1  # nothing yet, and nothing created by looking
    assert not (settings.data_dir / "tradepoint.db").exists()
    assert "revision none" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"created, at revision {head_revision()}" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "current, at revision" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert f"revision {head_revision()}, head {head_revision()}" in capsys.readouterr().out


def test_db_commands_never_print_the_password(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy.engine import make_url

    password = make_url(pg_url).password
    assert password
    monkeypatch.setenv("TRADEPOINT_DATABASE_URL", pg_url)
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    out = capsys.readouterr()
    assert "created, at revision" in out.out
    assert password not in out.out + out.err
