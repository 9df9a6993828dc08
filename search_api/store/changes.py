"""The change feed: a durable log of record changes, in commit order.

Every write to `records` (upsert, withdrawal, deletion) appends one `record_changes` row per
changed record in the same transaction. Unlike `outbox`, which the indexer drains and deletes,
the log is kept: partners read it through `GET /api/v1/changes` and webhooks are made from it,
each reader keeping its own position (a change id).

Why reading "id > my last id" misses nothing
--------------------------------------------
An autoincrement id is taken when a row is inserted, not when its transaction commits. With
two concurrent writers, A may take id 9, B id 10, and B commit first: a reader would see 10,
remember it, and never see 9 once A commits. Ids must therefore be taken in commit order.

- PostgreSQL: `log_changes` takes a transaction-scoped advisory lock
  (`pg_advisory_xact_lock`) just before inserting, held until the transaction ends. Ids are
  taken under the lock and the lock is released by the commit, so a transaction that takes
  later ids commits later. The insert is the last statement of every writing transaction, so
  the lock serialises only that tail (insert + commit), never the work before it, and no
  transaction waits for anything else while holding it (no deadlock).
- SQLite: one transaction writes at a time (the database's write lock is taken by the first
  write and held until commit), so ids are taken in commit order already.

The alternatives were worse: handing out only changes older than a settle delay loses a change
whose transaction outlives the delay, and filtering on PostgreSQL's transaction snapshot
(`pg_snapshot_xmin`) still lets a finished older transaction's higher id pass an unfinished
newer transaction's lower one. `tests/test_changes_concurrency.py` runs concurrent writers
against a polling reader on both databases.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from search_api.domain.records import is_undated_series
from search_api.store.base import StoreBase
from search_api.store.tables import ChangeRow

_CHANGES = ChangeRow.__table__
# One lock id for the whole log (a 64-bit key: stable across versions and processes).
CHANGE_LOG_LOCK = zlib.crc32(b"tradepoint.record_changes")
# Not changes of the record's content: maintained by the store on every write.
_NOT_FIELDS = frozenset({"first_seen", "last_seen", "last_changed", "content_hash", "version"})

CREATED, CHANGED, WITHDRAWN = "created", "changed", "withdrawn"


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    record_id: str
    kind: str
    op: str
    fields: list[str]
    version: int
    changed_at: datetime
    tombstone: str | None = None


def changed_fields(before: str | dict[str, Any], after: str | dict[str, Any]) -> list[str]:
    """The names of the record fields that differ between two stored versions (JSON)."""
    old, new = _as_now(stored_fields(before)), _as_now(stored_fields(after))
    return sorted(k for k in (old.keys() | new.keys()) - _NOT_FIELDS if old.get(k) != new.get(k))


def _as_now(data: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the record model reads it today, where the stored JSON may be older:
    a fair series without dates was stored "scheduled" before migration 0010 (a row written
    by an older process meanwhile), and has no status now; that is no change of the record."""
    series = is_undated_series(data)
    return {**data, "status": None} if series and data.get("status") == "scheduled" else data


def stored_fields(data: str | dict[str, Any]) -> dict[str, Any]:
    """A stored record's JSON as a dict; {} for a row that is not JSON (a broken row being
    replaced or deleted must not fail the write that mends it)."""
    if isinstance(data, dict):
        return data
    try:
        found = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def change(
    record_id: str,
    kind: str,
    op: str,
    version: int,
    at: datetime,
    fields: Sequence[str] = (),
    tombstone: str | None = None,
) -> dict[str, Any]:
    """A row for `log_changes`."""
    return {
        "record_id": record_id,
        "kind": kind,
        "op": op,
        "fields": list(fields),
        "version": version,
        "changed_at": at,
        "tombstone": tombstone,
    }


def log_changes(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append `rows` within the caller's transaction. Call it as the transaction's LAST
    statement: on PostgreSQL it holds the change-log lock from here to the commit."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOG_LOCK})
    conn.execute(insert(_CHANGES), list(rows))


class ChangesStore(StoreBase):
    def changes_after(
        self, after: int, limit: int, *, upto: int | None = None, kinds: Sequence[str] = ()
    ) -> list[Change]:
        """Up to `limit` changes with an id above `after` (and at most `upto`), oldest first,
        optionally of some record kinds only."""
        q = select(
            _CHANGES.c.id,
            _CHANGES.c.record_id,
            _CHANGES.c.kind,
            _CHANGES.c.op,
            _CHANGES.c.fields,
            _CHANGES.c.version,
            _CHANGES.c.changed_at,
            _CHANGES.c.tombstone,
        ).where(_CHANGES.c.id > after)
        if upto is not None:
            q = q.where(_CHANGES.c.id <= upto)
        if kinds:
            q = q.where(_CHANGES.c.kind.in_(list(kinds)))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(_CHANGES.c.id).limit(limit)).all()
        return [Change(*row) for row in rows]

    def last_change_id(self) -> int:
        """The id of the newest committed change (0 when there is none)."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.max(_CHANGES.c.id))) or 0
