"""Health: the service's readiness, and the crawl health of a source, derived from its recorded
runs (nothing extra is stored).

A source is healthy when its last finished run succeeded. Agencies watch three signals: when it
last succeeded, how many runs failed since, and whether the number of records it yields is
drifting (a redesigned site often still "succeeds" with fewer items before it fails outright).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text

from search_api.search.base import SearchBackend
from search_api.store import Store, utcnow
from search_api.store.tables import RunRow
from search_api.store.watch import changed_pages

TREND_RUNS = 5
# Enough history to find the last success behind a long run of failures.
HISTORY_RUNS = 50
FAILED_STATUSES = ("failed", "interrupted")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_total(run: RunRow) -> int:
    return (run.items_new or 0) + (run.items_changed or 0) + (run.items_unchanged or 0)


def run_dict(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id,
        "source_id": run.source_id,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "pages": run.pages,
        "items": run_total(run),
        "items_new": run.items_new,
        "items_changed": run.items_changed,
        "items_unchanged": run.items_unchanged,
        "items_failed": run.items_failed,
        "message": run.message,
        "errors": list(run.errors or []),
        "notes": list(run.notes or []),
        "cause": failure_cause(run) if run.status in FAILED_STATUSES else None,
    }


def _summary(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "finished_at": _iso(run.finished_at),
        "items": run_total(run),
        "errors": len(run.errors or []),
        "message": run.message,
    }


_HTTP = re.compile(r"^HTTP (\d{3})\b")
_MIN_ITEMS = re.compile(r"^yielded (\d+) records, fewer than min_items=(\d+)")
# How the crawler words each failure (crawlers/spiders/base.py), by what a person does about it.
_CAUSES: list[tuple[str, re.Pattern[str]]] = [
    ("private_host", re.compile(r"^refused |non-public address")),
    ("robots", re.compile(r"robots\.txt")),
    ("timeout", re.compile(r"TimeoutError|took longer than|timed out", re.IGNORECASE)),
    ("dns", re.compile(r"DNSLookupError|No address associated|Name or service not known")),
    ("connection", re.compile(r"ConnectionRefusedError|Connection was refused")),
    ("parse", re.compile(r"^parse failed|not valid|not an HTML page|could not be read")),
]


def classify_error(message: str) -> dict[str, Any]:
    """One error of a run as a cause: its kind (http, private_host, robots, timeout, dns,
    connection, parse, other), with the HTTP status where there is one."""
    found = _HTTP.match(message)
    if found:
        return {"kind": "http", "status": int(found.group(1)), "detail": message}
    for kind, pattern in _CAUSES:
        if pattern.search(message):
            return {"kind": kind, "detail": message}
    return {"kind": "other", "detail": message}


def failure_cause(run: RunRow) -> dict[str, Any] | None:
    """Why a run failed, as an agency can act on it: the first error the run met (its start
    pages are fetched first), not the consequence ("yielded 0 records"). A run with no error
    that found too few records says so."""
    errors = list(run.errors or [])
    if errors:
        first = errors[0]
        return {"url": first.get("url"), **classify_error(str(first.get("message") or ""))}
    found = _MIN_ITEMS.match(run.message or "")
    if found:
        return {"kind": "min_items", "count": int(found.group(1)), "min": int(found.group(2))}
    if run.message:
        return {"kind": "other", "detail": run.message}
    return None


def health_from_runs(runs: Sequence[RunRow]) -> dict[str, Any]:
    """Health from runs, newest first (as `Store.list_runs` returns them)."""
    finished = [r for r in runs if r.status != "running"]
    running = next((r for r in runs if r.status == "running"), None)
    last_success = next((r for r in finished if r.status == "succeeded"), None)
    failures = 0
    for run in finished:
        if run.status == "succeeded":
            break
        if run.status in FAILED_STATUSES:
            failures += 1
    successes = [r for r in finished if r.status == "succeeded"][:TREND_RUNS]
    last_error = None
    for run in finished:
        if run.status in FAILED_STATUSES:
            cause = failure_cause(run)
            last_error = {
                "run_id": run.id,
                "at": _iso(run.finished_at or run.started_at),
                "url": (run.errors or [{}])[0].get("url"),
                # The cause first: "HTTP 404", not its consequence "yielded 0 records".
                "message": (cause or {}).get("detail") or run.message or "run failed",
                "outcome": run.message,
                "cause": cause,
            }
            break
        if run.errors:
            first = run.errors[0]
            last_error = {
                "run_id": run.id,
                "at": _iso(run.finished_at or run.started_at),
                "url": first.get("url"),
                "message": first.get("message"),
                "outcome": run.message,
                "cause": failure_cause(run),
            }
            break
    if not finished:
        state = "never_run"
    elif failures:
        state = "failing"
    else:
        state = "ok"
    return {
        "state": state,
        "running_run_id": running.id if running else None,
        "last_run": _summary(finished[0]) if finished else None,
        "last_success": _iso(last_success.finished_at) if last_success else None,
        "consecutive_failures": failures,
        # Oldest first, so it reads like a sparkline.
        "item_trend": [run_total(r) for r in reversed(successes)],
        "last_error": last_error,
    }


def source_health(store: Store, source_id: str) -> dict[str, Any]:
    health = health_from_runs(store.list_runs(source_id, limit=HISTORY_RUNS))
    health["records"] = store.count_records(source_id)
    problems = store.record_problems(source_id, limit=5)
    health["broken_records"] = store.count_record_problems(source_id) if problems else 0
    health["broken_examples"] = [{"id": p.record_id, "problem": p.problem} for p in problems]
    health["pages_changed"] = pages_changed(store, source_id)
    return health


def pages_changed(store: Store, source_id: str) -> list[dict[str, Any]]:
    """The source's records whose official page changed materially since they were checked
    (the change watch): what its agency should re-check."""
    out = []
    for row in changed_pages(store, source_id=source_id):
        if row.changed_at is not None:
            out.append(
                {
                    "record_id": row.record_id,
                    "url": row.url,
                    "changed_on": row.changed_at.date().isoformat(),
                    "similarity": row.similarity,
                }
            )
    return out


def readiness(
    store: Store, backend: SearchBackend, *, max_lag: float = 120.0
) -> tuple[str, dict[str, Any]]:
    """`ok` when the store answers, the search index answers and keeps up; `degraded` (the
    store answers, the index does not, or changes wait longer than `max_lag` seconds for it)
    or `down`, with the checks and the reason."""
    checks: dict[str, Any] = {}
    reasons: list[str] = []
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["store"] = "ok"
        checks["outbox_pending"] = store.outbox_size()
        oldest = store.outbox_oldest()
        lag = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        checks["index_lag_seconds"] = round(max(lag, 0.0), 1)
        checks["broken_records"] = store.count_record_problems()
    except Exception as exc:
        checks["store"] = f"error: {type(exc).__name__}"
        reasons.append("the system of record does not answer")
    checks["search"] = "ok" if backend.ping() else "unavailable"
    if checks["search"] != "ok":
        reasons.append("the search index does not answer")
    elif checks.get("index_lag_seconds", 0) > max_lag:
        checks["search"] = "lagging"
        reasons.append(
            f"the index is not keeping up: {checks['outbox_pending']} changes have waited "
            f"up to {checks['index_lag_seconds']:.0f} s (the indexer may be stuck or locked out)"
        )
    if checks.get("broken_records"):
        # Left out of the index, not blocking it: worth an operator's look, not a restart.
        checks["broken_records_hint"] = "stored records that no longer validate: see the log"
    status = "ok" if not reasons else ("down" if checks["store"] != "ok" else "degraded")
    if reasons:
        checks["reason"] = "; ".join(reasons)
    return status, checks
