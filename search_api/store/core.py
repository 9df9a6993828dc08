"""SQLAlchemy 2 store. SQLite (WAL) by default; any SQLAlchemy URL works the same way.

Every change to `records` writes an `outbox` row in the same transaction, so the search index can
lag or be rebuilt but never misses a change.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import bindparam, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from search_api.domain.records import RECORD_ADAPTER, AnyRecord
from search_api.domain.sources import SourceSpec
from search_api.errors import Conflict, NotFound
from search_api.store.tables import OutboxRow, RecordRow, RunRow, SourceRow

MAX_RUN_ERRORS = 200

_RECORDS = RecordRow.__table__
_OUTBOX = OutboxRow.__table__


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


class Store:
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
        # Alembic manages the schema (imported late: it imports every table module, and those
        # import this one). What was done: current | created | adopted | upgraded.
        from search_api.migrations import ensure_schema

        self.schema_action = ensure_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._session()

    # ------------------------------------------------------------------ records

    def upsert_records(
        self, records: Sequence[AnyRecord], *, now: datetime | None = None
    ) -> UpsertStats:
        """Insert or update records by id in one transaction, maintaining provenance.

        A new or changed record gets an outbox row in the same transaction; an unchanged one
        only moves `last_seen` (column and stored JSON) and leaves the index alone.
        """
        from search_api.store.upsert import upsert_records

        with self.engine.begin() as conn:
            return upsert_records(conn, records, now or utcnow())

    # Reads select (id, data) only: `data` holds the whole record, and skipping ORM objects
    # matters when the indexer reads thousands of records per batch.

    def get_record(self, record_id: str) -> AnyRecord | None:
        with self.engine.connect() as conn:
            data = conn.scalar(select(_RECORDS.c.data).where(_RECORDS.c.id == record_id))
        return _load_record(data) if data is not None else None

    def get_records(self, ids: Sequence[str]) -> dict[str, AnyRecord]:
        out: dict[str, AnyRecord] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(ids), 500):
                rows = conn.execute(
                    select(_RECORDS.c.id, _RECORDS.c.data).where(_RECORDS.c.id.in_(chunk))
                ).all()
                for record_id, data in rows:
                    out[record_id] = _load_record(data)
        return out

    def iter_records(self, batch: int = 1000) -> Iterator[AnyRecord]:
        """All records in id order, read in batches (keyset paging keeps memory flat)."""
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(_RECORDS.c.id, _RECORDS.c.data)
                    .where(_RECORDS.c.id > last)
                    .order_by(_RECORDS.c.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for _, data in rows:
                yield _load_record(data)
            last = rows[-1][0]

    def count_records(self, source_id: str | None = None) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(RecordRow)
            if source_id:
                q = q.where(RecordRow.source_id == source_id)
            return s.scalar(q) or 0

    def list_records(self, source_id: str, limit: int = 500) -> list[AnyRecord]:
        """Records of one source, most recently changed first."""
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(_RECORDS.c.data)
                .where(_RECORDS.c.source_id == source_id)
                .order_by(_RECORDS.c.last_changed.desc(), _RECORDS.c.id)
                .limit(limit)
            ).all()
        return [_load_record(data) for data in rows]

    def delete_record(self, record_id: str) -> None:
        with self.session() as s, s.begin():
            res = s.execute(delete(RecordRow).where(RecordRow.id == record_id))
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"record {record_id!r} not found")
            s.add(OutboxRow(record_id=record_id, op="delete", created_at=utcnow()))

    # ------------------------------------------------------------------ outbox

    def fetch_outbox(self, limit: int = 500) -> list[tuple[int, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_OUTBOX.c.id, _OUTBOX.c.record_id, _OUTBOX.c.op)
                .order_by(_OUTBOX.c.id)
                .limit(limit)
            ).all()
        # Unpacking a Row is several times cheaper than indexing it three times.
        return [(row_id, record_id, op) for row_id, record_id, op in rows]

    def ack_outbox(self, ids: Sequence[int]) -> None:
        with self.session() as s, s.begin():
            for chunk in chunks(list(ids), 500):
                s.execute(delete(OutboxRow).where(OutboxRow.id.in_(chunk)))

    def outbox_max_id(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.max(OutboxRow.id))) or 0

    def ack_outbox_upto(self, max_id: int) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(OutboxRow).where(OutboxRow.id <= max_id))

    def outbox_size(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(OutboxRow)) or 0

    # ------------------------------------------------------------------ sources

    def add_source(self, spec: SourceSpec, *, replace: bool = False) -> None:
        now = utcnow()
        with self.session() as s, s.begin():
            row = s.get(SourceRow, spec.id)
            if row is not None and not replace:
                raise Conflict(f"source {spec.id!r} already exists", code="source_exists")
            data = spec.model_dump(mode="json", exclude_none=True)
            if row is None:
                s.add(
                    SourceRow(
                        id=spec.id,
                        spec=data,
                        owner=spec.owner,
                        enabled=spec.enabled,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                row.spec, row.owner, row.enabled, row.updated_at = (
                    data,
                    spec.owner,
                    spec.enabled,
                    now,
                )

    def get_source(self, source_id: str) -> SourceSpec:
        with self.session() as s:
            row = s.get(SourceRow, source_id)
            if row is None:
                raise NotFound(f"source {source_id!r} not found")
            return SourceSpec.model_validate(row.spec)

    def list_sources(self) -> list[SourceSpec]:
        with self.session() as s:
            rows = s.scalars(select(SourceRow).order_by(SourceRow.id)).all()
            return [SourceSpec.model_validate(r.spec) for r in rows]

    def remove_source(self, source_id: str) -> None:
        with self.session() as s, s.begin():
            res = s.execute(delete(SourceRow).where(SourceRow.id == source_id))
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"source {source_id!r} not found")

    # ------------------------------------------------------------------ runs

    def start_run(self, source_id: str, *, stale_after: timedelta | None = None) -> int:
        """Record a new running run; Conflict if one is already running for this source.

        A running run is stale (and marked interrupted) when the process that started it is
        gone from this host, or when it is older than `stale_after`.
        """
        for attempt in (1, 2):
            try:
                with self.session() as s, s.begin():
                    row = RunRow(
                        source_id=source_id,
                        started_at=utcnow(),
                        status="running",
                        errors=[],
                        pid=os.getpid(),
                        host=socket.gethostname(),
                    )
                    s.add(row)
                    s.flush()
                    return row.id
            except IntegrityError:
                if attempt == 2 or not self._clear_stale_run(source_id, stale_after):
                    running = self.running_run(source_id)
                    raise Conflict(
                        f"a run of source {source_id!r} is already running"
                        + (
                            f" (run {running.id}, since {running.started_at:%Y-%m-%d %H:%M} UTC)"
                            if running
                            else ""
                        ),
                        code="run_in_progress",
                    ) from None
        raise AssertionError("unreachable")

    def running_run(self, source_id: str) -> RunRow | None:
        with self.session() as s:
            return s.scalar(
                select(RunRow).where(RunRow.source_id == source_id, RunRow.status == "running")
            )

    def _clear_stale_run(self, source_id: str, stale_after: timedelta | None) -> bool:
        run = self.running_run(source_id)
        if run is None:
            return True
        too_old = stale_after is not None and utcnow() - run.started_at > stale_after
        gone = run.host == socket.gethostname() and run.pid is not None and not _alive(run.pid)
        if not (too_old or gone):
            return False
        reason = "its process is gone" if gone else "it exceeded the time limit"
        self.finish_run(run.id, "interrupted", RunStats(), f"marked interrupted: {reason}")
        return True

    def finish_run(
        self, run_id: int, status: str, stats: RunStats, message: str | None = None
    ) -> None:
        with self.session() as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    finished_at=utcnow(),
                    status=status,
                    pages=stats.pages,
                    items_new=stats.items_new,
                    items_changed=stats.items_changed,
                    items_unchanged=stats.items_unchanged,
                    items_failed=stats.items_failed,
                    errors=stats.errors[:MAX_RUN_ERRORS],
                    message=message,
                )
            )

    def get_run(self, run_id: int) -> RunRow:
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"run {run_id} not found")
            return row

    def set_run_pid(self, run_id: int, pid: int) -> None:
        """Point a run at the process doing it, so a dead crawl is detected as stale."""
        with self.session() as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(pid=pid))

    def list_runs(self, source_id: str | None = None, limit: int = 50) -> list[RunRow]:
        with self.session() as s:
            q = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
            if source_id:
                q = q.where(RunRow.source_id == source_id)
            return list(s.scalars(q).all())

    def mark_missing(self, source_id: str, seen_ids: set[str], withdraw_after: int) -> int:
        """After a successful run: count a miss for every record of the source the run did not
        yield, and withdraw (never delete) those missing `withdraw_after` runs in a row."""
        now = utcnow()
        rec = RecordRow.__table__
        with self.engine.begin() as conn:
            # Only ids and counters first: every crawl runs this over all of a source's records,
            # and the stored JSON is needed only for the few withdrawn now.
            missing = [
                (row.id, row.missing_runs + 1)
                for row in conn.execute(
                    select(rec.c.id, rec.c.missing_runs).where(
                        rec.c.source_id == source_id, rec.c.withdrawn.is_(False)
                    )
                )
                if row.id not in seen_ids
            ]
            if not missing:
                return 0
            conn.execute(
                update(rec)
                .where(rec.c.id == bindparam("b_id"))
                .values(missing_runs=bindparam("b_missing")),
                [{"b_id": rid, "b_missing": n} for rid, n in missing],
            )
            gone = [rid for rid, n in missing if n >= withdraw_after]
            for chunk in chunks(gone, 500):
                rows = conn.execute(
                    select(rec.c.id, rec.c.data, rec.c.version).where(rec.c.id.in_(chunk))
                ).all()
                conn.execute(
                    update(rec)
                    .where(rec.c.id == bindparam("b_id"))
                    .values(
                        data=bindparam("b_data"),
                        withdrawn=True,
                        last_changed=now,
                        version=bindparam("b_version"),
                    ),
                    [
                        {
                            "b_id": row.id,
                            "b_data": _withdrawn_json(row.data, now, row.version + 1),
                            "b_version": row.version + 1,
                        }
                        for row in rows
                    ],
                )
                conn.execute(
                    insert(OutboxRow.__table__),
                    [{"record_id": row.id, "op": "upsert", "created_at": now} for row in rows],
                )
            return len(gone)


def _withdrawn_json(data: str, now: datetime, version: int) -> str:
    record = orjson.loads(data)
    record.update(withdrawn=True, last_changed=now.isoformat(), version=version)
    return orjson.dumps(record).decode()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _load_record(data: str) -> AnyRecord:
    # Validated straight from the JSON text: pydantic parses it in Rust, which is faster than
    # json.loads followed by validating the dict, and gives the same record.
    return RECORD_ADAPTER.validate_json(data)


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
