"""What the scheduler has planned: scheduled jobs, their next run and each source's last run.

The scheduler runs in its own process (`tradepoint scheduler`) and persists its jobs in the
system of record. This reads them with plain SQL, so that search_api imports neither `schedules`
nor APScheduler: the job ids and next run times are columns; the pickled job state is never read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, text

from search_api.domain.sources import missing_secrets
from search_api.store import Store

# The table APScheduler's SQLAlchemyJobStore writes (schedules/service.py JOBS_TABLE).
JOBS_TABLE = "apscheduler_jobs"


def _iso(value: datetime | None) -> str | None:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if value else None


def _job_type_and_source(job_id: str) -> tuple[str, str | None]:
    kind, _, rest = job_id.partition(":")
    if kind == "crawl":
        return kind, rest or None
    if kind == "retry":
        return kind, rest.rpartition(":")[0] or None
    return kind if rest else "other", None


def _read_jobs(store: Store) -> tuple[bool, list[tuple[str, float | None]]]:
    with store.engine.connect() as conn:
        if not inspect(conn).has_table(JOBS_TABLE):
            return False, []
        rows = conn.execute(
            # Paused jobs (NULL next run) last, the rest soonest first.
            text(
                f"SELECT id, next_run_time FROM {JOBS_TABLE} "
                "ORDER BY next_run_time IS NULL, next_run_time, id"
            )
        ).all()
    return True, [(str(r[0]), r[1]) for r in rows]


def _last_run(store: Store, source_id: str) -> dict[str, Any] | None:
    runs = store.list_runs(source_id, limit=1)
    if not runs:
        return None
    run = runs[0]
    return {
        "id": run.id,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "message": run.message,
        "errors": len(run.errors or []),
    }


def scheduler_status(store: Store) -> dict[str, Any]:
    present, rows = _read_jobs(store)
    last_runs: dict[str, dict[str, Any] | None] = {}

    def last(source_id: str) -> dict[str, Any] | None:
        if source_id not in last_runs:
            last_runs[source_id] = _last_run(store, source_id)
        return last_runs[source_id]

    jobs = []
    scheduled: dict[str, str | None] = {}
    for job_id, next_ts in rows:
        job_type, source_id = _job_type_and_source(job_id)
        next_run = (
            datetime.fromtimestamp(next_ts, UTC).replace(tzinfo=None)
            if next_ts is not None
            else None
        )
        job: dict[str, Any] = {
            "id": job_id,
            "type": job_type,
            "source_id": source_id,
            "next_run_time": _iso(next_run),
        }
        if source_id:
            job["last_run"] = last(source_id)
        if job_type == "crawl" and source_id:
            scheduled[source_id] = job["next_run_time"]
        jobs.append(job)
    sources = [
        {
            "id": spec.id,
            "enabled": spec.enabled,
            "schedule": spec.schedule,
            "job_id": f"crawl:{spec.id}" if spec.id in scheduled else None,
            "next_run_time": scheduled.get(spec.id),
            "last_run": last(spec.id),
            # why an enabled, scheduled source has no job: the secrets it lacks
            "missing_secrets": missing_secrets(spec),
        }
        for spec in store.list_sources()
    ]
    return {"scheduler_jobs_table": present, "jobs": jobs, "sources": sources}
