"""The scheduler service with a real APScheduler, its job store in the test database and real
crawls against loopback servers (in child processes where the test is about them). Jobs are
triggered by moving their next run time to now, never by waiting for the clock; the retry clock
is injected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import (
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from sqlalchemy import text

from schedules.cli import FileLeaderLock, wait_for_leadership
from schedules.jobs import CRAWL_FUNC, cron_trigger
from schedules.service import INTERRUPTED_MESSAGE, SchedulerService, crawl_child_pids
from search_api.domain.sources import SourceSpec, parse_source
from search_api.errors import Conflict
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.scheduling import (
    DEADLINE,
    GatedSite,
    JobEvents,
    ServiceFactory,
    run_now,
    service_factory,
    wait_until,
)
from tests.helpers.sites import SiteServer

SOURCE = "xx_sched_fairs"
# The injected clock: a fixed instant a day ahead, so retries land in the future and wait.
CLOCK = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def slow_site() -> Iterator[str]:
    """A site whose pages never answer (robots.txt does), to make a crawl overrun."""
    site = GatedSite()
    yield site.url
    site.close()


def source(start_url: str, **kw: object) -> SourceSpec:
    data: dict[str, object] = {
        "id": SOURCE,
        "name": "Scheduled fairs",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": [start_url],
        "follow": {"allow": ["/fairs/"], "max_pages": 50},
        "schedule": "0 4 * * *",
        "min_items": 1,
    }
    data.update(kw)
    return parse_source(data)


Factory = ServiceFactory


@pytest.fixture
def make_service(settings: Settings, store: Store) -> Iterator[Factory]:
    yield from service_factory(settings, store, now=lambda: CLOCK)


def runs_of(store: Store) -> list[tuple[str, str | None]]:
    return [(r.status, r.message) for r in reversed(store.list_runs(SOURCE))]


def retry_jobs(svc: SchedulerService) -> dict[str, datetime | None]:
    return {j.id: j.next_run_time for j in svc.jobs() if j.id.startswith("retry:")}


# ---------------------------------------------------------------------------- tests


@pytest.mark.crawl_process  # the child is killed at the time limit
def test_an_overrunning_crawl_is_killed_and_recorded_failed(
    make_service: Factory, store: Store, slow_site: str
) -> None:
    store.add_source(source(f"{slow_site}/fairs/"))
    svc = make_service(crawl_time_limit=3)
    events = JobEvents(svc.scheduler)
    run_now(svc, f"crawl:{SOURCE}")
    events.wait_executed(f"crawl:{SOURCE}")

    [run] = store.list_runs(SOURCE)
    assert run.status == "failed"
    assert run.message == "killed after exceeding the time limit of 3s"
    assert crawl_child_pids(run.id) == []
    # A failed scheduled run is retried after the backoff, on the injected clock.
    assert retry_jobs(svc) == {f"retry:{SOURCE}:1": CLOCK + timedelta(seconds=300)}


@pytest.mark.crawl
def test_a_failed_run_is_retried_with_doubling_backoff_until_retries_run_out(
    make_service: Factory, store: Store, fair_site: SiteServer
) -> None:
    # A page that does not exist: the run yields nothing and fails (min_items=1).
    store.add_source(source(fair_site.url("/fairs/missing.html")))
    svc = make_service(settings={"crawl_retries": 2, "crawl_retry_backoff_seconds": 60})
    events = JobEvents(svc.scheduler)

    run_now(svc, f"crawl:{SOURCE}")
    events.wait_executed(f"crawl:{SOURCE}")
    assert retry_jobs(svc) == {f"retry:{SOURCE}:1": CLOCK + timedelta(seconds=60)}

    run_now(svc, f"retry:{SOURCE}:1")
    events.wait_executed(f"retry:{SOURCE}:1")
    assert retry_jobs(svc) == {f"retry:{SOURCE}:2": CLOCK + timedelta(seconds=120)}

    run_now(svc, f"retry:{SOURCE}:2")
    events.wait_executed(f"retry:{SOURCE}:2")
    assert retry_jobs(svc) == {}  # two retries were allowed, both failed: give up
    statuses = [status for status, _ in runs_of(store)]
    assert statuses == ["failed", "failed", "failed"]
    assert all("fewer than min_items=1" in (m or "") for _, m in runs_of(store))


@pytest.mark.crawl
def test_a_successful_run_cancels_the_pending_retry(
    make_service: Factory, store: Store, fair_site: SiteServer
) -> None:
    store.add_source(source(fair_site.url("/fairs/missing.html")))
    svc = make_service()
    events = JobEvents(svc.scheduler)
    run_now(svc, f"crawl:{SOURCE}")
    events.wait_executed(f"crawl:{SOURCE}")
    assert list(retry_jobs(svc)) == [f"retry:{SOURCE}:1"]

    # The site is fixed before the retry is due; the next scheduled crawl succeeds.
    store.add_source(source(fair_site.url("/fairs/index.html")), replace=True)
    run_now(svc, f"crawl:{SOURCE}")
    events.wait_executed(f"crawl:{SOURCE}", n=2)
    assert [status for status, _ in runs_of(store)] == ["failed", "succeeded"]
    assert retry_jobs(svc) == {}


@pytest.mark.crawl_process  # the stuck first run is a child the scheduler kills at its stop
def test_no_two_runs_of_a_source_at_once(
    make_service: Factory,
    store: Store,
    settings: Settings,
    slow_site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.add_source(source(f"{slow_site}/fairs/"))
    svc = make_service(crawl_time_limit=DEADLINE)
    events = JobEvents(svc.scheduler)
    job_id = f"crawl:{SOURCE}"
    run_now(svc, job_id)
    wait_until(lambda: store.running_run(SOURCE) is not None, what="the first run to start")

    # The same job again while it runs: APScheduler refuses a second instance.
    run_now(svc, job_id)
    events.wait_for(EVENT_JOB_MAX_INSTANCES, job_id)

    # A retry job of the same source: it starts, finds the run in progress and skips.
    svc.scheduler.add_job(
        CRAWL_FUNC, "date", run_date=datetime.now(UTC), id=f"retry:{SOURCE}:1", args=[SOURCE, 1]
    )
    with caplog.at_level("WARNING", logger="schedules.service"):
        events.wait_executed(f"retry:{SOURCE}:1")
    assert any(
        "crawl skipped" in r.getMessage() and "already running" in r.getMessage()
        for r in caplog.records
    )

    # A crawl from the CLI or the API is refused too.
    with pytest.raises(Conflict):
        run_crawl(settings, SOURCE, store)

    assert [status for status, _ in runs_of(store)] == ["running"]


@pytest.mark.crawl
def test_a_scheduler_that_was_down_for_ten_periods_crawls_once(
    make_service: Factory, store: Store, fair_site: SiteServer
) -> None:
    store.add_source(source(fair_site.url("/fairs/index.html"), schedule="0 4 * * *"))
    grace = {"scheduler_misfire_grace_seconds": 2 * 86400}
    before = make_service(settings=grace)
    # The scheduler goes down just before a run, and stays down for ten daily periods.
    before.scheduler.pause()
    ten_days_ago = datetime.now(UTC) - timedelta(days=10, minutes=1)
    before.scheduler.modify_job(f"crawl:{SOURCE}", next_run_time=ten_days_ago)
    before.stop(grace=0)

    after = make_service(start=False, settings=grace)
    events = JobEvents(after.scheduler)
    after.start()
    events.wait_executed(f"crawl:{SOURCE}")

    job_id = f"crawl:{SOURCE}"
    assert events.count(EVENT_JOB_SUBMITTED, job_id) == 1
    assert events.count(EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED, job_id) == 0
    assert [status for status, _ in runs_of(store)] == ["succeeded"]
    [job] = [j for j in after.jobs() if j.id == job_id]
    expected = cron_trigger("0 4 * * *").get_next_fire_time(None, datetime.now(UTC))
    assert job.next_run_time == expected


def test_a_run_missed_by_more_than_the_grace_time_is_skipped(
    make_service: Factory, store: Store, fair_site: SiteServer
) -> None:
    # Yearly, so that no later run falls between the missed one and now.
    store.add_source(source(fair_site.url("/fairs/index.html"), schedule="0 4 1 1 *"))
    svc = make_service(settings={"scheduler_misfire_grace_seconds": 60})
    events = JobEvents(svc.scheduler)
    job_id = f"crawl:{SOURCE}"
    svc.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC) - timedelta(hours=2))
    events.wait_for(EVENT_JOB_MISSED, job_id)
    assert events.count(EVENT_JOB_EXECUTED, job_id) == 0
    assert store.list_runs(SOURCE) == []


@pytest.mark.crawl_process  # the scheduler kills its crawl children at shutdown
def test_shutdown_marks_an_unfinished_run_interrupted(
    make_service: Factory, store: Store, slow_site: str
) -> None:
    store.add_source(source(f"{slow_site}/fairs/"))
    svc = make_service(crawl_time_limit=DEADLINE)
    run_now(svc, f"crawl:{SOURCE}")
    wait_until(lambda: store.running_run(SOURCE) is not None, what="the run to start")
    run = store.running_run(SOURCE)
    assert run is not None
    wait_until(lambda: crawl_child_pids(run.id), what="the crawl child to start")

    interrupted = svc.stop(grace=1)

    assert interrupted == [run.id]
    assert runs_of(store) == [("interrupted", INTERRUPTED_MESSAGE)]
    assert crawl_child_pids(run.id) == []
    # An interrupted run is not a failure: nothing to retry.
    with store.engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    assert sorted(ids) == ["crawl:xx_sched_fairs", "digest:daily", "digest:weekly", "watch:pages"]


@pytest.mark.crawl
def test_shutdown_lets_a_running_crawl_finish(
    make_service: Factory, store: Store, fair_site: SiteServer
) -> None:
    store.add_source(source(fair_site.url("/fairs/index.html")))
    # A polite pace keeps the crawl running for seconds: long enough to be seen running (an
    # in-process crawl of the fixture site can otherwise end between two looks).
    svc = make_service(settings={"crawl_delay": 0.3, "crawl_concurrency_per_host": 1})
    run_now(svc, f"crawl:{SOURCE}")
    wait_until(lambda: store.running_run(SOURCE) is not None, what="the run to start")

    assert svc.stop(grace=DEADLINE) == []
    [(status, _message)] = runs_of(store)
    assert status == "succeeded"
    assert store.count_records(SOURCE) > 0


# ---------------------------------------------------------------------------- digests

DIGEST_CALLS: list[tuple[Settings, str, datetime | None]] = []


def record_digest(settings: Settings, frequency: str, now: datetime | None = None) -> int:
    """A stand-in digest sender, named by reference like the real one."""
    DIGEST_CALLS.append((settings, frequency, now))
    return 0


def test_digest_jobs_run_on_their_own_cron(make_service: Factory, settings: Settings) -> None:
    DIGEST_CALLS.clear()
    svc = make_service(
        settings={"digest_daily_cron": "15 7 * * *", "digest_weekly_cron": "0 8 * * 5"},
        digest_ref="tests.test_scheduler_service:record_digest",
    )
    jobs = {j.id: j for j in svc.jobs()}
    now = datetime.now(UTC)
    assert jobs["digest:daily"].next_run_time == cron_trigger("15 7 * * *").get_next_fire_time(
        None, now
    )
    assert jobs["digest:weekly"].next_run_time.strftime("%a %H:%M") == "Fri 08:00"

    events = JobEvents(svc.scheduler)
    run_now(svc, "digest:weekly")
    events.wait_executed("digest:weekly")
    assert [(freq, when) for _, freq, when in DIGEST_CALLS] == [("weekly", CLOCK)]
    assert DIGEST_CALLS[0][0].digest_weekly_cron == "0 8 * * 5"


def test_a_changed_digest_cron_reschedules_the_digest_job(make_service: Factory) -> None:
    first = make_service(settings={"digest_daily_cron": "0 6 * * *"})
    first.stop(grace=0)
    second = make_service(settings={"digest_daily_cron": "45 21 * * *"})
    [daily] = [j for j in second.jobs() if j.id == "digest:daily"]
    assert daily.next_run_time.strftime("%H:%M") == "21:45"


def test_the_real_digest_sender_takes_what_the_job_passes() -> None:
    digests = pytest.importorskip("schedules.digests")
    import inspect

    inspect.signature(digests.send_digests).bind(Settings(), "daily", now=CLOCK)


# ---------------------------------------------------------------------------- one active scheduler


def test_only_one_process_holds_the_scheduler_lock(tmp_path: Path) -> None:
    first, second = FileLeaderLock(tmp_path / "s.lock"), FileLeaderLock(tmp_path / "s.lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert second.holder() == f"pid {os.getpid()}"
    stopped = threading.Event()
    stopped.set()
    assert wait_for_leadership(second, stopped, poll=0.01) is False
    first.release()
    assert second.try_acquire()
    second.release()


@pytest.mark.e2e
def test_a_second_scheduler_waits_as_standby_and_takes_over_on_sigterm(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    store.add_source(source("https://example.org/fairs/"))
    cmd = [sys.executable, "-m", "search_api.cli", "scheduler", "--shutdown-grace", "5"]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for log_path in logs:
            with log_path.open("wb") as out:
                procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT))
            if not procs[1:]:
                wait_until(lambda: "scheduler started" in logs[0].read_text(), what="first")
        first, second = procs
        wait_until(lambda: "waiting as standby" in logs[1].read_text(), what="standby")
        assert f"(pid {first.pid})" in logs[1].read_text()
        assert f"crawl:{SOURCE}" in logs[0].read_text()

        first.send_signal(signal.SIGTERM)
        assert first.wait(DEADLINE) == 0
        assert "scheduler stopped" in logs[0].read_text()
        wait_until(lambda: "scheduler started" in logs[1].read_text(), what="the takeover")
        assert "taking over" in logs[1].read_text()

        second.send_signal(signal.SIGINT)
        assert second.wait(DEADLINE) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
