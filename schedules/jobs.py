"""Jobs derived from the source registry, never kept as a second list (zavod's habit).

One job `crawl:<source_id>` per enabled source with a `schedule`; `retry:<source_id>:<n>` one-off
jobs retry a failed run; `digest:daily` and `digest:weekly` send digests. `sync_jobs()` brings the
scheduler in line with the registry and runs periodically inside the scheduler, so adding, editing,
disabling or removing a source takes effect without a restart.

The pure parts (which jobs the registry implies, the diff, retry delays, cron conversion) are kept
apart from the APScheduler calls so they can be tested without a scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from search_api.domain import cron
from search_api.domain.sources import SourceSpec, missing_secrets

log = logging.getLogger(__name__)

CRAWL_PREFIX = "crawl:"
RETRY_PREFIX = "retry:"
DIGEST_FREQUENCIES = ("daily", "weekly")
SYNC_JOB_ID = "sync:sources"
# Textual references: the persistent job store keeps the function by name, not by object.
CRAWL_FUNC = "schedules.service:crawl_job"
DIGEST_FUNC = "schedules.service:digest_job"
WATCH_JOB_ID = "watch:pages"
WATCH_FUNC = "schedules.service:watch_job"


def crawl_job_id(source_id: str) -> str:
    return f"{CRAWL_PREFIX}{source_id}"


def retry_job_id(source_id: str, attempt: int) -> str:
    return f"{RETRY_PREFIX}{source_id}:{attempt}"


def digest_job_id(frequency: str) -> str:
    return f"digest:{frequency}"


def source_of_job(job_id: str) -> str | None:
    """The source a crawl or retry job belongs to, or None for other jobs."""
    if job_id.startswith(CRAWL_PREFIX):
        return job_id.removeprefix(CRAWL_PREFIX)
    if job_id.startswith(RETRY_PREFIX):
        return job_id.removeprefix(RETRY_PREFIX).rpartition(":")[0] or None
    return None


# ---------------------------------------------------------------------------- cron


def cron_trigger(expr: str, jitter: int = 0) -> CronTrigger:
    """A UTC CronTrigger for a 5-field crontab expression, with cron's weekday numbering.

    Raises ValueError naming the problem when the expression is not valid. One difference from
    cron remains: when both day-of-month and day-of-week are restricted, APScheduler requires
    both to match where cron accepts either.
    """
    fields = cron.parse_cron(expr)  # the check every source passed when it was saved
    return CronTrigger(
        minute=fields.minute,
        hour=fields.hour,
        day=fields.day,
        month=fields.month,
        day_of_week=fields.day_of_week,
        timezone=UTC,
        jitter=jitter or None,
    )


def trigger_fingerprint(trigger: Any) -> str:
    # repr() of APScheduler triggers lists every field, the jitter and the time zone, and
    # survives pickling, so equal fingerprints mean "same schedule": no reschedule needed.
    return repr(trigger)


# ---------------------------------------------------------------------------- pure planning


@dataclass(frozen=True)
class CrawlJobSpec:
    job_id: str
    source_id: str
    cron: str


@dataclass
class SyncPlan:
    add: list[str] = field(default_factory=list)
    reschedule: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    # source id -> why its schedule was not used (an invalid cron expression)
    invalid: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.add or self.reschedule or self.remove)


def desired_crawl_jobs(
    sources: Iterable[SourceSpec], environ: Mapping[str, str] | None = None
) -> dict[str, CrawlJobSpec]:
    """The crawl jobs the registry implies: one per enabled source that has a schedule and
    the secrets it references (TRADEPOINT_SECRET_*) in `environ` (default: this process's,
    which the crawl processes inherit)."""
    jobs = {}
    for spec in sources:
        if spec.enabled and spec.schedule and not missing_secrets(spec, environ):
            job_id = crawl_job_id(spec.id)
            jobs[job_id] = CrawlJobSpec(job_id, spec.id, spec.schedule)
    return jobs


def plan_sync(desired: Mapping[str, str], existing: Mapping[str, str]) -> SyncPlan:
    """Diff job id -> trigger fingerprint maps into what to add, reschedule and remove.

    `existing` holds the scheduler's crawl and retry jobs. A retry job is kept only while its
    source still has a crawl job: disabling or removing a source also cancels its retries.
    """
    plan = SyncPlan()
    for job_id, fingerprint in desired.items():
        if job_id not in existing:
            plan.add.append(job_id)
        elif existing[job_id] != fingerprint:
            plan.reschedule.append(job_id)
    for job_id in existing:
        if job_id.startswith(RETRY_PREFIX):
            source_id = source_of_job(job_id)
            if source_id is None or crawl_job_id(source_id) not in desired:
                plan.remove.append(job_id)
        elif job_id not in desired:
            plan.remove.append(job_id)
    return plan


def retry_delay(attempt: int, backoff_seconds: float) -> timedelta:
    """Delay before retry number `attempt` (1-based): the backoff, doubled for each further one."""
    if attempt < 1:
        raise ValueError("retry attempts count from 1")
    return timedelta(seconds=backoff_seconds * 2 ** (attempt - 1))


# ---------------------------------------------------------------------------- applying


def sync_jobs(scheduler: BaseScheduler, sources: Iterable[SourceSpec], jitter: int) -> SyncPlan:
    """Add, reschedule or remove crawl jobs so that they follow the registry.

    Unchanged jobs are left alone: replacing them would reset their next run time and lose
    the misfire that a scheduler coming back after downtime must still run (once).
    """
    sources = list(sources)
    wanted = desired_crawl_jobs(sources)
    triggers: dict[str, CronTrigger] = {}
    invalid: dict[str, str] = {}
    for job_id, spec in wanted.items():
        try:
            triggers[job_id] = cron_trigger(spec.cron, jitter)
        except ValueError as exc:
            invalid[spec.source_id] = f"schedule {spec.cron!r}: {exc}"
    existing = {
        job.id: trigger_fingerprint(job.trigger)
        for job in scheduler.get_jobs(jobstore="default")
        if job.id.startswith((CRAWL_PREFIX, RETRY_PREFIX))
    }
    desired = {job_id: trigger_fingerprint(t) for job_id, t in triggers.items()}
    # A source whose new schedule is invalid keeps its old job rather than silently stopping.
    for source_id in invalid:
        job_id = crawl_job_id(source_id)
        if job_id in existing:
            desired[job_id] = existing[job_id]
    plan = plan_sync(desired, existing)
    plan.invalid = invalid
    for job_id in plan.add:
        source_id = wanted[job_id].source_id
        scheduler.add_job(
            CRAWL_FUNC,
            triggers[job_id],
            id=job_id,
            name=f"crawl {source_id}",
            args=[source_id],
            replace_existing=True,
        )
    for job_id in plan.reschedule:
        scheduler.reschedule_job(job_id, trigger=triggers[job_id])
    for job_id in plan.remove:
        with suppress(JobLookupError):  # already gone: a one-off retry that has just run
            scheduler.remove_job(job_id)
    for source_id, message in invalid.items():
        log.error("source not scheduled: %s", message, extra={"source": source_id})
    if plan.changed:
        for source in sources:
            missing = missing_secrets(source) if source.enabled and source.schedule else []
            if missing:
                log.warning(
                    "source not scheduled: needs %s",
                    ", ".join(missing),
                    extra={"source": source.id},
                )
        log.info(
            "jobs synced with the registry: added %s, rescheduled %s, removed %s",
            plan.add or "-",
            plan.reschedule or "-",
            plan.remove or "-",
        )
    return plan


def ensure_digest_jobs(
    scheduler: BaseScheduler, crons: Mapping[str, str], executor: str = "default"
) -> None:
    """Add the digest jobs, or reschedule them when their cron setting changed."""
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    for frequency in DIGEST_FREQUENCIES:
        job_id = digest_job_id(frequency)
        trigger = cron_trigger(crons[frequency])
        job = existing.get(job_id)
        if job is None:
            scheduler.add_job(
                DIGEST_FUNC,
                trigger,
                id=job_id,
                name=f"{frequency} digests",
                args=[frequency],
                executor=executor,
                replace_existing=True,
            )
        elif trigger_fingerprint(job.trigger) != trigger_fingerprint(trigger):
            scheduler.reschedule_job(job_id, trigger=trigger)


def ensure_watch_job(scheduler: BaseScheduler, cron: str, executor: str = "default") -> None:
    """The change watch of curated records' official pages, on `cron`; rescheduled when the
    setting changed, otherwise left alone (a missed run still runs once)."""
    trigger = cron_trigger(cron)
    job = next((j for j in scheduler.get_jobs(jobstore="default") if j.id == WATCH_JOB_ID), None)
    if job is None:
        scheduler.add_job(
            WATCH_FUNC,
            trigger,
            id=WATCH_JOB_ID,
            name="watch the official pages of curated records",
            executor=executor,
            replace_existing=True,
        )
    elif trigger_fingerprint(job.trigger) != trigger_fingerprint(trigger):
        scheduler.reschedule_job(WATCH_JOB_ID, trigger=trigger)
