"""Sources (the registry) and their crawl runs."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from search_api.domain.sources import SourceSpec, parse_source
from search_api.errors import Conflict, NotFound
from search_api.store.base import RunStats, StoreBase, alive, utcnow
from search_api.store.tables import RecordRow, RunRow, SourceRow

MAX_RUN_ERRORS = 200


class SourcesStore(StoreBase):
    def add_source(self, spec: SourceSpec, *, replace: bool = False) -> None:
        with self.session() as s, s.begin():
            self._put_source(s, spec, replace=replace)

    def _put_source(self, s: Session, spec: SourceSpec, *, replace: bool) -> None:
        now = utcnow()
        row = s.get(SourceRow, spec.id)
        if row is not None and row.removed_at is not None:
            # A removed source's id stays its owner's while its records or runs remain:
            # another agency taking it would retitle those records and inherit their history.
            if row.owner != spec.owner:
                raise Conflict(
                    f"id: {spec.id!r} belonged to a removed source of {row.owner or 'nobody'} "
                    "whose records remain; choose another id",
                    code="source_id_taken",
                )
        elif row is not None and not replace:
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
            row.removed_at = None

    def add_sources(self, specs: list[SourceSpec], *, replace: bool = False) -> None:
        """Add several sources at once: all of them, or (on a conflict) none."""
        with self.session() as s, s.begin():
            for spec in specs:
                self._put_source(s, spec, replace=replace)

    def get_source(self, source_id: str) -> SourceSpec:
        with self.session() as s:
            row = s.get(SourceRow, source_id)
            if row is None or row.removed_at is not None:
                raise NotFound(f"source {source_id!r} not found")
            return parse_source(row.spec, stored=True)

    def list_sources(self) -> list[SourceSpec]:
        with self.session() as s:
            rows = s.scalars(
                select(SourceRow).where(SourceRow.removed_at.is_(None)).order_by(SourceRow.id)
            ).all()
            return [parse_source(r.spec, stored=True) for r in rows]

    def remove_source(self, source_id: str) -> None:
        """Remove a source from the registry. Its records stay (facts with provenance), so its
        id stays reserved for its owner (a tombstone) until no record or run of it is left."""
        with self.session() as s, s.begin():
            row = s.get(SourceRow, source_id)
            if row is None or row.removed_at is not None:
                raise NotFound(f"source {source_id!r} not found")
            kept = s.scalar(
                select(func.count()).select_from(RecordRow).where(RecordRow.source_id == source_id)
            ) or s.scalar(
                select(func.count()).select_from(RunRow).where(RunRow.source_id == source_id)
            )
            if kept:
                row.removed_at = utcnow()
            else:
                s.delete(row)

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
        gone = run.host == socket.gethostname() and run.pid is not None and not alive(run.pid)
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
                    notes=stats.notes[:MAX_RUN_ERRORS],
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
