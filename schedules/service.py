"""`tradepoint scheduler`: APScheduler 3 with its jobs persisted in the system of record.

Crawls run through `search_api.services.crawls.run_crawl`, each in its own child process with a
hard time limit; the database refuses a second running run of a source, so the scheduler, the
API and the CLI never crawl one source twice at once. Missed runs are coalesced (a scheduler
that was down for ten periods crawls once), failed runs are retried with exponential backoff,
and a shutdown lets running crawls finish for a bounded time, then marks them interrupted.

At most `scheduler_max_crawls` crawls run at once, and never two on one host: each crawl is
polite on its own (a delay and a concurrency per host), but two crawls of one site at once
would double what the site sees. A due source that finds every crawl slot taken, or its host
busy, joins a waiting list and its job returns at once; a crawl that ends runs the first
waiting source it can, in the same worker thread. The wait is ours, not APScheduler's: a job
queued in APScheduler's pool for longer than the misfire grace would be dropped as missed
(with 1,000 sources due at once, four at a time, that is after an hour).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import ref_to_obj, undefined

from schedules.jobs import (
    CRAWL_FUNC,
    RETRY_PREFIX,
    SYNC_JOB_ID,
    SyncPlan,
    crawl_job_id,
    ensure_digest_jobs,
    ensure_watch_job,
    retry_delay,
    retry_job_id,
    sync_jobs,
)
from search_api.domain.sources import SourceSpec
from search_api.errors import Conflict, NotFound, TradepointError
from search_api.search.indexer import index_pending
from search_api.services import reminders, webhooks
from search_api.services.crawls import CrawlOutcome, crawl_pids, run_crawl
from search_api.settings import Settings
from search_api.store import RunStats, Store

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
DIGEST_REF = "schedules.digests:send_digests"
SYNC_INTERVAL_SECONDS = 30.0
REMINDERS_JOB_ID = "reminders"
WEBHOOKS_JOB_ID = "webhooks"
DEFAULT_SHUTDOWN_GRACE = 60.0
# After a shutdown has killed unfinished crawls, how long to wait for their threads to return.
REAP_SECONDS = 30.0
INTERRUPTED_MESSAGE = "interrupted: the scheduler stopped before the crawl finished"
SPARE_JOB_THREADS = 2

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# The persistent job store keeps job functions by name with picklable arguments, so a stored job
# cannot hold the live service (its store, settings and clock). The jobs below find the service
# of this process here; `start()` sets it and `stop()` clears it.
_active: SchedulerService | None = None


def _service() -> SchedulerService:
    if _active is None:
        raise RuntimeError("no scheduler service is running in this process")
    return _active


def crawl_job(source_id: str, attempt: int = 0) -> None:
    _service().run_crawl_job(source_id, attempt)


def digest_job(frequency: str) -> None:
    _service().run_digest_job(frequency)


def sync_job() -> None:
    _service().sync()


def reminders_job() -> None:
    _service().run_reminders()


def webhooks_job() -> None:
    _service().run_webhooks()


def watch_job() -> None:
    _service().run_watch_job()


class SchedulerService:
    """One scheduler process's jobs, crawls, retries and shutdown.

    `now` is the clock used to place retries; `crawl_time_limit` overrides the hard limit of a
    crawl child (default: the crawl timeout plus the runner's grace); `digest_ref` names the
    digest function as "module:function", imported only when a digest job runs.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        now: Clock = utc_now,
        crawl_time_limit: float | None = None,
        crawl_env: dict[str, str] | None = None,
        digest_ref: str = DIGEST_REF,
        sync_interval: float = SYNC_INTERVAL_SECONDS,
        max_crawls: int | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings.sqlalchemy_url)
        self.now = now
        self.crawl_time_limit = crawl_time_limit
        self.crawl_env = crawl_env
        self.digest_ref = digest_ref
        self.sync_interval = sync_interval
        self._stopping = threading.Event()
        self._cond = threading.Condition()
        # The internal jobs (webhooks every few seconds, reminders, digests, the registry sync)
        # log their own outcome; APScheduler's "Running job ..." line for each would drown it.
        logging.getLogger("apscheduler.executors.internal").setLevel(logging.WARNING)
        self._crawling: Counter[str] = Counter()
        # Crawls running, hosts being crawled, and due sources waiting for a slot or for one of
        # their hosts (guarded by _cond).
        self._max_crawls = max_crawls or settings.scheduler_max_crawls
        self._slots_used = 0
        self._busy_hosts: set[str] = set()
        self._waiting: deque[tuple[str, int, frozenset[str]]] = deque()
        self.scheduler = BackgroundScheduler(
            jobstores={
                # Our engine, so the job store shares the store's SQLite busy timeout while
                # crawl children write to the same database.
                "default": SQLAlchemyJobStore(engine=self.store.engine, tablename=JOBS_TABLE),
                # The registry sync is internal plumbing, rebuilt at each start.
                "internal": MemoryJobStore(),
            },
            executors={
                # A thread per crawl slot, and spare ones for jobs that only join the waiting
                # list while every slot crawls.
                "default": ThreadPoolExecutor(self._max_crawls + SPARE_JOB_THREADS),
                # Digests, reminders, webhooks and the sync must not queue behind long crawls.
                "internal": ThreadPoolExecutor(4),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": settings.scheduler_misfire_grace_seconds,
            },
            timezone=UTC,
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SyncPlan:
        """Start taking jobs: sync with the registry first, then run what is due."""
        global _active
        if _active is not None and _active is not self:
            raise RuntimeError("another scheduler service is already running in this process")
        _active = self
        # Paused while syncing, so that a job about to be replaced cannot fire in between.
        self.scheduler.start(paused=True)
        plan = self.sync()
        ensure_digest_jobs(
            self.scheduler,
            {"daily": self.settings.digest_daily_cron, "weekly": self.settings.digest_weekly_cron},
            executor="internal",
        )
        ensure_watch_job(self.scheduler, self.settings.watch_cron)
        self.scheduler.add_job(
            "schedules.service:sync_job",
            IntervalTrigger(seconds=self.sync_interval, timezone=UTC),
            id=SYNC_JOB_ID,
            name="sync jobs with the source registry",
            jobstore="internal",
            executor="internal",
            replace_existing=True,
        )
        # What `serve` also does (under the same leases, so never twice at once): a scheduler
        # alone still sends reminders and webhook deliveries.
        self.scheduler.add_job(
            "schedules.service:reminders_job",
            IntervalTrigger(minutes=self.settings.reminder_check_minutes, timezone=UTC),
            id=REMINDERS_JOB_ID,
            name="deadline reminders",
            jobstore="internal",
            executor="internal",
            replace_existing=True,
            # At once too (a scheduler restarted daily must not wait an interval), when there is
            # email to send with.
            next_run_time=datetime.now(UTC) if self.settings.smtp_host else undefined,
        )
        self.scheduler.add_job(
            "schedules.service:webhooks_job",
            IntervalTrigger(seconds=self.settings.webhook_poll_seconds, timezone=UTC),
            id=WEBHOOKS_JOB_ID,
            name="webhook deliveries",
            jobstore="internal",
            executor="internal",
            replace_existing=True,
        )
        self.scheduler.resume()
        log.info("scheduler started with %d jobs", len(self.jobs()))
        return plan

    def sync(self) -> SyncPlan:
        return sync_jobs(
            self.scheduler, self.store.list_sources(), self.settings.scheduler_jitter_seconds
        )

    def jobs(self) -> list[Any]:
        return list(self.scheduler.get_jobs(jobstore="default"))

    def stop(
        self, grace: float = DEFAULT_SHUTDOWN_GRACE, hurry: threading.Event | None = None
    ) -> list[int]:
        """Stop taking jobs, give running crawls `grace` seconds to finish, then mark the
        unfinished ones interrupted and kill their children. Returns the interrupted run ids."""
        global _active
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
            self._park_waiting()
            # APScheduler 3's loop looks at its job stores once more after shutdown() and advances
            # any due job it can no longer submit, so that run would be lost. Detached first, due
            # jobs stay due and run (once) at the next start, within the misfire grace time.
            for alias in ("default", "internal"):
                self.scheduler.remove_jobstore(alias, shutdown=False)
        # wait=False: running jobs go on; queued ones see `_stopping` and do nothing.
        with suppress(SchedulerNotRunningError):
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace
        with self._cond:
            while self._crawling and not (hurry is not None and hurry.is_set()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.5))
            unfinished = list(self._crawling)
        interrupted = [run_id for s in unfinished if (run_id := self._interrupt(s)) is not None]
        with self._cond:
            self._cond.wait_for(lambda: not self._crawling, timeout=REAP_SECONDS)
            if self._crawling:
                log.error("crawl threads still busy after shutdown: %s", sorted(self._crawling))
        if _active is self:
            _active = None
        log.info("scheduler stopped; %d unfinished run(s) marked interrupted", len(interrupted))
        return interrupted

    def _interrupt(self, source_id: str) -> int | None:
        run = self.store.running_run(source_id)
        # Only runs this process started: a crawl from the API or CLI is not ours to stop.
        if run is None or run.pid != os.getpid() or run.host != socket.gethostname():
            return None
        # Marked first, then killed: a killed child writes nothing, and run_crawl sees that the
        # run is no longer running and leaves the status alone.
        self.store.finish_run(run.id, "interrupted", RunStats(), INTERRUPTED_MESSAGE)
        for pid in crawl_child_pids(run.id):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.warning("run %s marked interrupted", run.id, extra={"source": source_id})
        return run.id

    # ------------------------------------------------------------------ jobs

    @contextmanager
    def _tracking(self, source_id: str) -> Iterator[None]:
        with self._cond:
            self._crawling[source_id] += 1
        try:
            yield
        finally:
            with self._cond:
                self._crawling[source_id] -= 1
                if self._crawling[source_id] <= 0:
                    del self._crawling[source_id]
                self._cond.notify_all()

    def run_crawl_job(self, source_id: str, attempt: int = 0) -> CrawlOutcome | None:
        """Crawl one source now, or, when every crawl slot is taken or its host is busy, after
        a running crawl ends; schedule a retry when the run failed. None when skipped or left
        waiting."""
        ctx = {"source": source_id, "attempt": attempt}
        if self._stopping.is_set():
            log.info("crawl not started: the scheduler is stopping", extra=ctx)
            return None
        spec = self._crawlable(source_id, attempt)
        if spec is None:
            return None
        hosts = crawl_hosts(spec)
        with self._cond:
            running_already = source_id in self._crawling
        if running_already:
            # The store refuses a second run of the source, which needs no slot: said and logged.
            return self._crawl(source_id, attempt)
        with self._cond:
            why = self._cannot_start(hosts)
            if why:
                if all(w[0] != source_id for w in self._waiting):
                    self._waiting.append((source_id, attempt, hosts))
                log.info("crawl waits: %s", why, extra=ctx)
                return None
            self._slots_used += 1
            self._busy_hosts |= hosts
        try:
            return self._crawl(source_id, attempt)
        finally:
            self._release_then_run_waiting(hosts)

    def _cannot_start(self, hosts: frozenset[str]) -> str | None:
        if self._slots_used >= self._max_crawls:
            return f"{self._slots_used} crawls running, the most at once"
        if hosts & self._busy_hosts:
            return "another crawl is on " + ", ".join(sorted(hosts & self._busy_hosts))
        return None

    def _crawlable(self, source_id: str, attempt: int) -> SourceSpec | None:
        ctx = {"source": source_id, "attempt": attempt}
        try:
            spec = self.store.get_source(source_id)
        except NotFound:
            log.warning("crawl skipped: the source is gone", extra=ctx)
            return None
        if not spec.enabled:
            log.info("crawl skipped: the source is disabled", extra=ctx)
            return None
        return spec

    def _release_then_run_waiting(self, hosts: frozenset[str]) -> None:
        """Free the slot and `hosts`, then crawl here, one after the other, the waiting sources
        that can start (first come, first crawled)."""
        while True:
            with self._cond:
                self._slots_used -= 1
                self._busy_hosts -= hosts
                if self._stopping.is_set():
                    return
                ready = next((w for w in self._waiting if not self._cannot_start(w[2])), None)
                if ready is None:
                    return
                self._waiting.remove(ready)
                source_id, attempt, hosts = ready
                self._slots_used += 1
                self._busy_hosts |= hosts
            try:
                if self._crawlable(source_id, attempt) is not None:
                    self._crawl(source_id, attempt)
            except Exception:
                # One source's failure must not strand the others waiting for this host.
                log.exception("crawl failed", extra={"source": source_id, "attempt": attempt})

    def _park_waiting(self) -> None:
        """At shutdown: sources still waiting are due at the next start (as APScheduler keeps a
        job that was due but not run), not at their next period."""
        with self._cond:
            waiting, self._waiting = list(self._waiting), deque()
        now = datetime.now(UTC)  # the wall clock, as APScheduler's (self.now places retries)
        for source_id, attempt, _ in waiting:
            if attempt:
                self._schedule_retry(source_id, attempt, at=now)
            else:
                try:
                    self.scheduler.modify_job(crawl_job_id(source_id), next_run_time=now)
                except JobLookupError:
                    continue  # not a job of ours (any more): nothing to keep
            log.info("crawl left due for the next start", extra={"source": source_id})

    def _crawl(self, source_id: str, attempt: int) -> CrawlOutcome | None:
        ctx = {"source": source_id, "attempt": attempt}
        with self._tracking(source_id):
            try:
                outcome = run_crawl(
                    self.settings,
                    source_id,
                    self.store,
                    env=self.crawl_env,
                    timeout=self.crawl_time_limit,
                )
            except NotFound:
                log.warning("crawl skipped: the source is gone", extra=ctx)
                return None
            except Conflict as exc:
                # Never two runs at once: the one already running (scheduled, API or CLI) wins.
                log.warning("crawl skipped: %s", exc.message, extra=ctx)
                return None
        log.info("run %s %s: %s", outcome.run_id, outcome.status, outcome.message or "", extra=ctx)
        if outcome.status == "succeeded":
            # Keep the index current even when no `serve` runs; it is best effort (the outbox
            # keeps every change if the index is busy or down).
            problem = index_pending(self.settings, self.store)
            if problem:
                log.info("index not updated now: %s", problem, extra=ctx)
            self._drop_retries(source_id)
        elif outcome.status == "failed":
            self._schedule_retry(source_id, attempt + 1)
        return outcome

    def _schedule_retry(self, source_id: str, attempt: int, at: datetime | None = None) -> None:
        ctx = {"source": source_id, "attempt": attempt}
        if attempt > self.settings.crawl_retries:
            log.warning("no retry left after %d retries", self.settings.crawl_retries, extra=ctx)
            return
        if self._stopping.is_set() and at is None:
            log.info("no retry scheduled: the scheduler is stopping", extra=ctx)
            return
        run_at = at or self.now() + retry_delay(attempt, self.settings.crawl_retry_backoff_seconds)
        self.scheduler.add_job(
            CRAWL_FUNC,
            DateTrigger(run_date=run_at, timezone=UTC),
            id=retry_job_id(source_id, attempt),
            name=f"retry {attempt} of {source_id}",
            args=[source_id, attempt],
            replace_existing=True,
        )
        log.info("retry %d scheduled at %s", attempt, run_at.isoformat(), extra=ctx)

    def _drop_retries(self, source_id: str) -> None:
        if self._stopping.is_set():
            return  # job stores detached; a leftover retry at the next start is one extra crawl
        prefix = f"{RETRY_PREFIX}{source_id}:"
        for job in self.jobs():
            if job.id.startswith(prefix):
                with suppress(JobLookupError):
                    self.scheduler.remove_job(job.id)

    def run_reminders(self) -> int:
        if self._stopping.is_set():
            return 0
        sent = reminders.run(self.settings, self.store)
        if sent:
            log.info("reminders: %d emails sent", sent)
        return sent

    def run_webhooks(self) -> int:
        if self._stopping.is_set():
            return 0
        return webhooks.process(self.settings, self.store)

    def run_watch_job(self) -> dict[str, int] | None:
        if self._stopping.is_set():
            return None
        from search_api.services.watch import run_watch

        try:
            counts = run_watch(self.settings)
        except TradepointError as exc:
            log.error("page watch failed: %s", exc.message)
            return None
        log.info("page watch: %s", counts)
        return counts

    def run_digest_job(self, frequency: str) -> int:
        send: Callable[..., int] = ref_to_obj(self.digest_ref)
        sent = send(self.settings, frequency, now=self.now())
        log.info("%s digests: %d sent", frequency, sent)
        return sent


def crawl_hosts(spec: SourceSpec) -> frozenset[str]:
    """The host names a crawl of `spec` starts on (a crawl follows links within its start
    pages' sites). Names without ports, as Scrapy's politeness counts a host."""
    return frozenset(h for url in spec.start_urls if (h := urlsplit(url).hostname))


def crawl_child_pids(run_id: int) -> list[int]:
    """Pids of the crawl processes this process started for `run_id`: those forked for it by
    `run_crawl` (children of the fork server, so not ours in /proc), and any `python -m
    crawlers.runner` child of ours (where no fork server can run) found in Linux's /proc."""
    me = os.getpid()
    found: list[int] = crawl_pids(run_id)
    try:
        entries = os.listdir("/proc")
    except OSError:
        log.warning("cannot list /proc: crawl children of run %s are not killed", run_id)
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue  # exited meanwhile, or not ours to read
        # The command name may contain spaces and parentheses: fields follow the last ')'.
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        if ppid != me or b"crawlers.runner" not in argv:
            continue
        if any(a == b"--run-id" and b == str(run_id).encode() for a, b in pairwise(argv)):
            found.append(int(entry))
    return found
