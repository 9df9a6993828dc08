"""The store's engine and sessions. SQLite (WAL) by default; any SQLAlchemy URL works the same way.

Creating a `Store` never changes the schema: `Store.migrate()` (run by `tradepoint db upgrade`,
`serve`, `demo` and the other commands that set up a data dir) brings it to the latest revision.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def utcnow() -> datetime:
    # Naive UTC: SQLite has no time zones and mixing aware/naive values breaks comparisons.
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass
class UpsertStats:
    new: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.changed + self.unchanged


@dataclass
class RunStats:
    pages: int = 0
    items_new: int = 0
    items_changed: int = 0
    items_unchanged: int = 0
    items_failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A crawl child process and the API process write concurrently; wait instead of failing.
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _postgresql_session(dbapi_conn: Any, _record: Any) -> None:
    # Timestamps are naive UTC (see utcnow); a session in UTC keeps them so whatever the
    # server's TimeZone, also when an aware value or now() slips in.
    with dbapi_conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    dbapi_conn.commit()


class StoreBase:
    """The engine and session factory that every part of the store shares."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A server may drop idle connections (restarts, proxies): test each one before use.
        self.engine: Engine = create_engine(
            url, future=True, pool_pre_ping=not url.startswith("sqlite")
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "connect", _postgresql_session)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._outbox_listeners: list[Callable[[], None]] = []

    def add_outbox_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` whenever a transaction of this process that queued index changes
        (outbox rows: any record written, whatever the entry point) commits, so that the
        indexer can apply them at once rather than at its next poll. `listener` runs in the
        writer's thread just before the commit completes: it should only signal."""
        if not self._outbox_listeners:
            event.listen(self.engine, "after_execute", self._saw_statement)
            event.listen(self.engine, "commit", self._committing)
        self._outbox_listeners.append(listener)

    @staticmethod
    def _saw_statement(conn: Any, statement: Any, *_args: Any) -> None:
        if isinstance(statement, Insert) and statement.table.name == "outbox":
            conn.info["queued_index_changes"] = True

    def _committing(self, conn: Any) -> None:
        if conn.info.pop("queued_index_changes", False):
            for listener in self._outbox_listeners:
                listener()

    def migrate(self) -> str:
        """Bring the schema to the latest revision; returns what was done (`current`,
        `created`, `adopted` or `upgraded`)."""
        # Imported here, not at the top: Alembic costs every crawl process ~0.1 s to import,
        # and only the commands that set up a data dir migrate.
        from search_api.store.migrations import ensure_schema

        return ensure_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._session()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
