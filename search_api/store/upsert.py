"""`Store.upsert_records`: a batch of records written with one statement per kind of write.

Core statements with executemany: the ORM unit of work (identity map, attribute events, one
object per row and per outbox row) cost more than all the SQL (7k -> 18k records/s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from search_api.domain.records import AnyRecord
from search_api.store.base import UpsertStats, chunks
from search_api.store.changes import (
    CHANGED,
    CREATED,
    change,
    changed_fields,
    log_changes,
    stored_fields,
)
from search_api.store.tables import OutboxRow, RecordProblemRow, RecordRow

_RECORDS = RecordRow.__table__
_OUTBOX = OutboxRow.__table__
_PROBLEMS = RecordProblemRow.__table__

# What upsert_records needs to know about the stored version of a record.
_SELECT_CURRENT = select(
    _RECORDS.c.id,
    _RECORDS.c.kind,
    _RECORDS.c.source_id,
    _RECORDS.c.data,
    _RECORDS.c.content_hash,
    _RECORDS.c.first_seen,
    _RECORDS.c.last_changed,
    _RECORDS.c.withdrawn,
    _RECORDS.c.version,
).where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))
# Built once, like every read by ids here: a statement built per chunk is compiled and keyed
# for the statement cache per chunk.
_SELECT_BROKEN = select(_PROBLEMS.c.record_id).where(
    _PROBLEMS.c.record_id.in_(bindparam("ids", expanding=True))
)
# Bind names differ from the column names: SQLAlchemy reserves those for the SET clause.
_UPDATE_CHANGED = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("b_id"))
    .values(
        kind=bindparam("b_kind"),
        source_id=bindparam("b_source_id"),
        data=bindparam("b_data"),
        content_hash=bindparam("b_content_hash"),
        last_seen=bindparam("b_last_seen"),
        last_changed=bindparam("b_last_changed"),
        withdrawn=False,
        missing_runs=0,
        version=bindparam("b_version"),
    )
)
_UPDATE_SEEN = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("b_id"))
    .values(
        data=bindparam("b_data"),
        last_seen=bindparam("b_last_seen"),
        missing_runs=0,
    )
)


@dataclass(slots=True)
class _Pending:
    """A record row as the running upsert leaves it, and how that reaches the database:
    insert (new), update (content changed), touch (only last_seen moved), None (not yet)."""

    write: Literal["insert", "update", "touch"] | None
    kind: str
    source_id: str
    data: str
    content_hash: str
    first_seen: datetime
    last_changed: datetime
    withdrawn: bool
    version: int


def _write_pending(conn: Connection, pending: dict[str, _Pending], now: datetime) -> None:
    """One executemany per statement for all rows of an upsert batch."""
    inserts: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    for record_id, p in pending.items():
        if p.write == "insert":
            inserts.append(
                {
                    "id": record_id,
                    "kind": p.kind,
                    "source_id": p.source_id,
                    "data": p.data,
                    "content_hash": p.content_hash,
                    "first_seen": p.first_seen,
                    "last_seen": now,
                    "last_changed": p.last_changed,
                    "withdrawn": p.withdrawn,
                    "missing_runs": 0,
                    "version": p.version,
                }
            )
        elif p.write == "update":
            changed.append(
                {
                    "b_id": record_id,
                    "b_kind": p.kind,
                    "b_source_id": p.source_id,
                    "b_data": p.data,
                    "b_content_hash": p.content_hash,
                    "b_last_seen": now,
                    "b_last_changed": p.last_changed,
                    "b_version": p.version,
                }
            )
        elif p.write == "touch":
            seen.append({"b_id": record_id, "b_data": p.data, "b_last_seen": now})
    if inserts:
        conn.execute(insert(_RECORDS), inserts)
    if changed:
        conn.execute(_UPDATE_CHANGED, changed)
    if seen:
        conn.execute(_UPDATE_SEEN, seen)


def _quiet_touch(cur: _Pending, rec: AnyRecord, digest: str, now: datetime) -> bool:
    """Take `rec` into `cur` as a touch when its content hash differs but none of its fields
    does (a row whose hash was computed by older code, e.g. over text migration 0011 cleaned
    since): the new hash and `last_seen` are stored, with no version bump, no change-feed
    event and so no webhook, since nothing a reader sees has changed. False (and `cur` left
    as it was) when a field differs: that is a change."""
    data = rec.model_copy(
        update={
            "first_seen": cur.first_seen,
            "last_seen": now,
            "last_changed": cur.last_changed,
            "content_hash": digest,
            "withdrawn": False,
            "version": cur.version,
        }
    ).model_dump_json()
    if changed_fields(cur.data, data):
        return False
    cur.data, cur.content_hash = data, digest
    # the content_hash column too, which a touch leaves alone
    cur.write = "update"
    return True


# Store-maintained fields a touch rewrites; the index needs no new document for them.
_TOUCHED = frozenset({"last_seen", "content_hash"})


def _index_differs(old: str, new: str) -> bool:
    """Whether the stored JSON differs beyond what a touch rewrites (a fair series stored
    "scheduled" by older code, now without a status): the index must get the new version."""
    before, after = stored_fields(old), stored_fields(new)
    return any(before.get(k) != after.get(k) for k in (before.keys() | after.keys()) - _TOUCHED)


class AlreadyStored(Exception):
    """An insert-only upsert found a record stored under one of its ids."""


def upsert_records(
    conn: Connection, records: Sequence[AnyRecord], now: datetime, *, insert_only: bool = False
) -> UpsertStats:
    """Insert or update `records` by id within the caller's transaction (see Store).

    `insert_only`: raise AlreadyStored instead of updating a stored record. The read and the
    insert are not one atomic step (SQLite reads outside the write lock), so a writer that
    slips in between is caught by the primary key as an IntegrityError instead.
    """
    stats = UpsertStats()
    if not records:
        return stats
    pending: dict[str, _Pending] = {}
    outbox: list[dict[str, Any]] = []
    # Each changed record's stored JSON before this batch (None: new), for its one entry in
    # the change feed however often the batch changes it.
    before: dict[str, str | None] = {}
    ids = list(dict.fromkeys(r.id for r in records))
    for chunk in chunks(ids, 500):
        for row in conn.execute(_SELECT_CURRENT, {"ids": chunk}):
            if insert_only:
                raise AlreadyStored(row.id)
            pending[row.id] = _Pending(
                write=None,
                kind=row.kind,
                source_id=row.source_id,
                data=row.data,
                content_hash=row.content_hash,
                first_seen=row.first_seen,
                last_changed=row.last_changed,
                withdrawn=row.withdrawn,
                version=row.version,
            )
    # A stored row noted as broken is rewritten even when its content hash matches: the new,
    # valid record replaces it, and the problem goes with it.
    broken = set()
    for chunk in chunks(ids, 500):
        broken |= set(conn.scalars(_SELECT_BROKEN, {"ids": chunk}))
    for rec in records:
        digest = rec.content_fingerprint()
        cur = pending.get(rec.id)
        if (
            cur is not None
            and (cur.content_hash != digest or rec.id in broken)
            and cur.write != "insert"
            and not cur.withdrawn
        ):
            old_data = cur.data
            if _quiet_touch(cur, rec, digest, now):
                # a row noted as a problem (one the index could not take) is tried again
                if rec.id in broken or _index_differs(old_data, cur.data):
                    outbox.append({"record_id": rec.id, "op": "upsert", "created_at": now})
                stats.unchanged += 1
                continue
        if cur is None or cur.content_hash != digest or cur.withdrawn or rec.id in broken:
            if rec.id not in before:
                before[rec.id] = None if cur is None or cur.write == "insert" else cur.data
            first_seen = now if cur is None else cur.first_seen
            version = 1 if cur is None else cur.version + 1
            data = rec.model_copy(
                update={
                    "first_seen": first_seen,
                    "last_seen": now,
                    "last_changed": now,
                    "content_hash": digest,
                    "withdrawn": False,
                    "version": version,
                }
            ).model_dump_json()
            write: Literal["insert", "update"]
            if cur is None:
                stats.new += 1
                write = "insert"
            else:
                stats.changed += 1
                # A row first written by this same batch is still inserted, once.
                write = "insert" if cur.write == "insert" else "update"
            pending[rec.id] = _Pending(
                write=write,
                kind=rec.kind,
                source_id=rec.source_id,
                data=data,
                content_hash=digest,
                first_seen=first_seen,
                last_changed=now,
                withdrawn=False,
                version=version,
            )
            outbox.append({"record_id": rec.id, "op": "upsert", "created_at": now})
        else:
            # Unchanged content: only last_seen moves; the index is not touched.
            stored = orjson.loads(cur.data)
            stored["last_seen"] = now.isoformat()
            cur.data = orjson.dumps(stored).decode()
            if cur.write is None:
                cur.write = "touch"
            stats.unchanged += 1
    _write_pending(conn, pending, now)
    if outbox:
        conn.execute(insert(_OUTBOX), outbox)
    if broken:
        conn.execute(delete(_PROBLEMS).where(_PROBLEMS.c.record_id.in_(list(broken))))
    changes = []
    for record_id, old in before.items():
        p = pending[record_id]
        if old is None:
            changes.append(change(record_id, p.kind, CREATED, p.version, now))
        else:
            fields = changed_fields(old, p.data)
            changes.append(change(record_id, p.kind, CHANGED, p.version, now, fields))
    log_changes(conn, changes)  # last: see store/changes.py
    return stats
