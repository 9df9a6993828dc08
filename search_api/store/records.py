"""Records with their provenance, and the outbox of their changes.

Every change to `records` writes an `outbox` row in the same transaction, so the search index can
lag or be rebuilt but never misses a change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime

import orjson
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from search_api.domain.records import AnyRecord, load_stored_record
from search_api.domain.sources import format_validation_error
from search_api.errors import Conflict, NotFound, RecordInvalid
from search_api.store.base import StoreBase, UpsertStats, chunks, utcnow
from search_api.store.changes import WITHDRAWN, change, log_changes, stored_fields
from search_api.store.tables import OutboxRow, RecordProblemRow, RecordRow

_RECORDS = RecordRow.__table__
_OUTBOX = OutboxRow.__table__
_PROBLEMS = RecordProblemRow.__table__
# Built once: a statement built per call is compiled and keyed for the cache per call, which
# for the indexer's reads of 500 ids cost about as much as the query.
_SELECT_BY_IDS = select(_RECORDS.c.id, _RECORDS.c.source_id, _RECORDS.c.data).where(
    _RECORDS.c.id.in_(bindparam("ids", expanding=True))
)
_SELECT_JSON_BY_IDS = select(_RECORDS.c.id, _RECORDS.c.data).where(
    _RECORDS.c.id.in_(bindparam("ids", expanding=True))
)

_DELETE_OUTBOX_IDS = delete(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))

log = logging.getLogger(__name__)


class RecordsStore(StoreBase):
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

    def create_record(self, record: AnyRecord, *, now: datetime | None = None) -> None:
        """Insert a new record; Conflict when its id exists, also when another writer inserts
        it at the same moment (the primary key decides, so exactly one of them succeeds)."""
        from search_api.store.upsert import AlreadyStored, upsert_records

        try:
            with self.engine.begin() as conn:
                upsert_records(conn, [record], now or utcnow(), insert_only=True)
        except (AlreadyStored, IntegrityError):  # stored before, or by another writer just now
            raise Conflict(
                f"record {record.id!r} exists already; change it with PATCH or pick another id",
                code="record_exists",
            ) from None

    # Reads select (id, data) only: `data` holds the whole record, and skipping ORM objects
    # matters when the indexer reads thousands of records per batch.

    def get_record(self, record_id: str) -> AnyRecord | None:
        """The record, None when there is none; RecordInvalid when it is stored but broken."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_RECORDS.c.source_id, _RECORDS.c.data).where(_RECORDS.c.id == record_id)
            ).first()
        if row is None:
            return None
        records = self._decode([(record_id, row.source_id, row.data)])
        if not records:
            raise RecordInvalid(
                f"record {record_id!r} is stored but no longer valid; its owner or an admin "
                "can replace or delete it (see /readyz and the source's health)"
            )
        return records[0]

    def get_records(self, ids: Sequence[str]) -> dict[str, AnyRecord]:
        """The valid records among `ids`; broken ones are left out and noted as problems."""
        stored = self.stored_records(ids)
        found = {r.id: r for r in stored}
        self.note_broken(stored)
        return found

    def stored_records(self, ids: Sequence[str]) -> StoredRecords:
        """The stored rows of `ids` (those that exist), decoded only as they are iterated:
        the indexer builds each record's document right after decoding it, so the record
        dies young instead of a whole batch of them outliving several garbage collections
        (full collections over a large heap were a tenth of a drain). `note_broken` after
        iterating notes the rows that did not validate."""
        rows: list[tuple[str, str, str]] = []
        with self.engine.connect() as conn:
            for chunk in chunks(list(ids), 500):
                rows += [(i, s, d) for i, s, d in conn.execute(_SELECT_BY_IDS, {"ids": chunk})]
        return StoredRecords(rows)

    def note_broken(self, stored: StoredRecords) -> None:
        if stored.broken:
            self._note_problems(list(stored.broken.values()))

    def record_origin(self, record_id: str) -> tuple[str, str | None] | None:
        """(source id, curated_by) of a stored record, read without validating it: who may
        delete a record must be known even when the record is broken."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_RECORDS.c.source_id, _RECORDS.c.data).where(_RECORDS.c.id == record_id)
            ).first()
        if row is None:
            return None
        try:
            curated_by = orjson.loads(row.data).get("curated_by")
        except (orjson.JSONDecodeError, AttributeError):
            curated_by = None
        return row.source_id, curated_by if isinstance(curated_by, str) else None

    def _decode(self, rows: Sequence[tuple[str, str, str]]) -> list[AnyRecord]:
        """Records from (id, source id, JSON) rows; rows that do not validate are noted."""
        stored = StoredRecords(rows)
        out = list(stored)
        self.note_broken(stored)
        return out

    def note_record_problems(self, problems: dict[str, tuple[str, str]]) -> None:
        """Note stored records that cannot be used as they are, id -> (source id, why): the
        indexer's records whose document could not be built. Shown with the broken ones
        (a source's health, /readyz) until the record is written again."""
        if problems:
            self._note_problems(
                [
                    {"record_id": rid, "source_id": source_id, "problem": why}
                    for rid, (source_id, why) in problems.items()
                ],
                "could not be indexed",
            )

    def _note_problems(
        self, broken: list[dict[str, object]], what: str = "do not validate"
    ) -> None:
        now = utcnow()
        ids = [b["record_id"] for b in broken]
        with self.engine.begin() as conn:
            conn.execute(delete(_PROBLEMS).where(_PROBLEMS.c.record_id.in_(ids)))
            conn.execute(insert(_PROBLEMS), [{**b, "noted_at": now} for b in broken])
        log.warning("%d stored records %s: %s", len(ids), what, ", ".join(map(str, ids)))

    def record_problems(
        self, source_id: str | None = None, limit: int = 100
    ) -> list[RecordProblemRow]:
        """Stored records known not to validate, most recently noted first."""
        with self.session() as s:
            q = select(RecordProblemRow).order_by(RecordProblemRow.noted_at.desc()).limit(limit)
            if source_id is not None:
                q = q.where(RecordProblemRow.source_id == source_id)
            return list(s.scalars(q).all())

    def count_record_problems(self, source_id: str | None = None) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(RecordProblemRow)
            if source_id is not None:
                q = q.where(RecordProblemRow.source_id == source_id)
            return s.scalar(q) or 0

    def get_record_json(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored JSON of records by id (those that exist)."""
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(ids)), 500):
                rows = conn.execute(_SELECT_JSON_BY_IDS, {"ids": chunk}).all()
                out.update((record_id, data) for record_id, data in rows)
        return out

    def iter_records(self, batch: int = 1000) -> Iterator[AnyRecord]:
        """All records in id order, read in batches (keyset paging keeps memory flat)."""
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(_RECORDS.c.id, _RECORDS.c.source_id, _RECORDS.c.data)
                    .where(_RECORDS.c.id > last)
                    .order_by(_RECORDS.c.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            yield from self._decode(rows)
            last = rows[-1][0]

    def iter_record_json(
        self,
        *,
        kinds: Sequence[str] = (),
        include_withdrawn: bool = True,
        batch: int = 1000,
    ) -> Iterator[list[tuple[str, str]]]:
        """(id, stored JSON) of every record in id order, a batch at a time, optionally of some
        kinds only: the bulk export reads the whole store this way in constant memory. Each
        batch is its own short read, so a long export never holds a transaction open."""
        last = ""
        while True:
            q = select(_RECORDS.c.id, _RECORDS.c.data).where(_RECORDS.c.id > last)
            if kinds:
                q = q.where(_RECORDS.c.kind.in_(list(kinds)))
            if not include_withdrawn:
                q = q.where(_RECORDS.c.withdrawn.is_(False))
            with self.engine.connect() as conn:
                rows = [(i, d) for i, d in conn.execute(q.order_by(_RECORDS.c.id).limit(batch))]
            if not rows:
                return
            yield rows
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
            rows = conn.execute(
                select(_RECORDS.c.id, _RECORDS.c.source_id, _RECORDS.c.data)
                .where(_RECORDS.c.source_id == source_id)
                .order_by(_RECORDS.c.last_changed.desc(), _RECORDS.c.id)
                .limit(limit)
            ).all()
        return self._decode(rows)

    def delete_record(self, record_id: str) -> None:
        """Delete a record outright (curated records only); the change feed keeps a tombstone
        with its last state."""
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(_RECORDS.c.kind, _RECORDS.c.data, _RECORDS.c.version).where(
                    _RECORDS.c.id == record_id
                )
            ).first()
            if row is None:
                raise NotFound(f"record {record_id!r} not found")
            conn.execute(delete(_PROBLEMS).where(_PROBLEMS.c.record_id == record_id))
            conn.execute(delete(_RECORDS).where(_RECORDS.c.id == record_id))
            conn.execute(insert(_OUTBOX).values(record_id=record_id, op="delete", created_at=now))
            tombstone = _withdrawn_json(row.data, now, row.version + 1)
            log_changes(
                conn,
                [
                    change(
                        record_id,
                        row.kind,
                        WITHDRAWN,
                        row.version + 1,
                        now,
                        ["withdrawn"],
                        tombstone=tombstone,
                    )
                ],
            )

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
        with self.engine.begin() as conn:
            for chunk in chunks(list(ids), 500):
                conn.execute(_DELETE_OUTBOX_IDS, {"ids": chunk})

    def outbox_max_id(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.max(OutboxRow.id))) or 0

    def ack_outbox_upto(self, max_id: int) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(OutboxRow).where(OutboxRow.id <= max_id))

    def outbox_oldest(self) -> datetime | None:
        """When the oldest change still waiting for the index was made."""
        with self.session() as s:
            oldest: datetime | None = s.scalar(select(func.min(OutboxRow.created_at)))
            return oldest

    def outbox_size(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(OutboxRow)) or 0

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
            changes = []
            for chunk in chunks(gone, 500):
                rows = conn.execute(
                    select(rec.c.id, rec.c.kind, rec.c.data, rec.c.version).where(
                        rec.c.id.in_(chunk)
                    )
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
                changes += [
                    change(row.id, row.kind, WITHDRAWN, row.version + 1, now, ["withdrawn"])
                    for row in rows
                ]
            log_changes(conn, changes)  # last: see store/changes.py
            return len(gone)


class StoredRecords:
    """Records of stored (id, source id, JSON) rows, decoded as they are iterated (again on
    every iteration: a retried index write reads them again). The ids of rows that did not
    validate, with why, are in `broken` once iterated."""

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        self.rows = rows
        self.ids = {record_id for record_id, _, _ in rows}
        self.broken: dict[str, dict[str, object]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[AnyRecord]:
        for record_id, source_id, data in self.rows:
            try:
                yield load_stored_record(data)
            except ValidationError as exc:  # invalid JSON included
                problem = format_validation_error(exc).replace("\n", "; ")
                self.broken[record_id] = {
                    "record_id": record_id,
                    "source_id": source_id,
                    "problem": problem,
                }


def _withdrawn_json(data: str, now: datetime, version: int) -> str:
    record = stored_fields(data)
    record.update(withdrawn=True, last_changed=now.isoformat(), version=version)
    return orjson.dumps(record).decode()
