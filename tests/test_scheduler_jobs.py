"""Jobs derived from the source registry: the pure planning, and a real scheduler with its jobs
persisted in the test database following source changes without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schedules.jobs import (
    SYNC_JOB_ID,
    cron_trigger,
    desired_crawl_jobs,
    plan_sync,
    retry_delay,
    source_of_job,
    trigger_fingerprint,
)
from schedules.service import SchedulerService
from search_api.domain import cron
from search_api.domain.sources import SourceSpec, parse_source
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.scheduling import JobEvents


def spec(source_id: str = "xx_sched_fairs", **kw: object) -> SourceSpec:
    data: dict[str, object] = {
        "id": source_id,
        "name": "Scheduled fairs",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": ["https://example.org/fairs/"],
        "schedule": "0 4 * * 1",
    }
    data.update(kw)
    return parse_source(data)


# ---------------------------------------------------------------------------- cron


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1", "mon"),
        ("6", "sat"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("mon-fri", "mon-fri"),
        ("SAT,1", "sat,mon"),
    ],
)
def test_cron_weekday_numbers_count_from_sunday(field: str, expected: str) -> None:
    assert cron.day_of_week(field) == expected


def test_a_monday_schedule_fires_on_monday_utc() -> None:
    trigger = cron_trigger("0 4 * * 1")
    sunday = datetime(2027, 3, 7, 12, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, sunday)
    assert fire == datetime(2027, 3, 8, 4, 0, tzinfo=UTC)
    assert fire.strftime("%A") == "Monday"


@pytest.mark.parametrize("expr", ["61 * * * *", "0 4 * * 8", "0 25 * * *", "0 4 * *"])
def test_invalid_cron_is_refused_with_a_value_error(expr: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(expr)


def test_fingerprint_changes_with_schedule_and_jitter_only() -> None:
    assert trigger_fingerprint(cron_trigger("0 4 * * 1")) == trigger_fingerprint(
        cron_trigger("0 4 * * 1")
    )
    assert trigger_fingerprint(cron_trigger("0 4 * * 1")) != trigger_fingerprint(
        cron_trigger("0 5 * * 1")
    )
    assert trigger_fingerprint(cron_trigger("0 4 * * 1", 0)) != trigger_fingerprint(
        cron_trigger("0 4 * * 1", 300)
    )


# ---------------------------------------------------------------------------- planning


def test_registry_implies_one_job_per_enabled_scheduled_source() -> None:
    jobs = desired_crawl_jobs(
        [
            spec("xx_a_fairs"),
            spec("xx_b_fairs", schedule=None),
            spec("xx_c_fairs", enabled=False),
            spec("xx_d_fairs", schedule="*/15 * * * *"),
        ]
    )
    assert {j: (s.source_id, s.cron) for j, s in jobs.items()} == {
        "crawl:xx_a_fairs": ("xx_a_fairs", "0 4 * * 1"),
        "crawl:xx_d_fairs": ("xx_d_fairs", "*/15 * * * *"),
    }


def test_plan_adds_reschedules_and_removes() -> None:
    existing = {"crawl:a": "A", "crawl:b": "B", "crawl:gone": "G"}
    desired = {"crawl:a": "A", "crawl:b": "B2", "crawl:new": "N"}
    plan = plan_sync(desired, existing)
    assert plan.add == ["crawl:new"]
    assert plan.reschedule == ["crawl:b"]
    assert plan.remove == ["crawl:gone"]
    assert plan_sync(desired, desired).changed is False


def test_plan_keeps_retries_only_while_their_source_is_scheduled() -> None:
    existing = {"crawl:a": "A", "retry:a:1": "R", "retry:b:2": "R"}
    plan = plan_sync({"crawl:a": "A"}, existing)
    assert plan.remove == ["retry:b:2"]


def test_job_ids_name_their_source() -> None:
    assert source_of_job("crawl:de_x_fairs") == "de_x_fairs"
    assert source_of_job("retry:de_x_fairs:2") == "de_x_fairs"
    assert source_of_job("digest:daily") is None


def test_retry_delay_doubles_from_the_backoff() -> None:
    assert [retry_delay(n, 300) for n in (1, 2, 3)] == [
        timedelta(seconds=300),
        timedelta(seconds=600),
        timedelta(seconds=1200),
    ]
    with pytest.raises(ValueError):
        retry_delay(0, 300)


# ---------------------------------------------------------------------------- a real scheduler


@pytest.fixture
def service(settings: Settings, store: Store) -> Iterator[SchedulerService]:
    svc = SchedulerService(settings.model_copy(update={"scheduler_jitter_seconds": 0}), store)
    svc.start()
    yield svc
    svc.stop(grace=0)


def crawl_jobs(svc: SchedulerService) -> dict[str, datetime | None]:
    return {j.id: j.next_run_time for j in svc.jobs() if j.id.startswith(("crawl:", "retry:"))}


def test_jobs_follow_source_changes_without_restart(
    service: SchedulerService, store: Store
) -> None:
    assert crawl_jobs(service) == {}

    store.add_source(spec())
    plan = service.sync()
    assert plan.add == ["crawl:xx_sched_fairs"]
    next_run = crawl_jobs(service)["crawl:xx_sched_fairs"]
    assert next_run is not None and next_run.strftime("%a %H:%M") == "Mon 04:00"

    store.add_source(spec(schedule="30 5 * * 3"), replace=True)
    assert service.sync().reschedule == ["crawl:xx_sched_fairs"]
    next_run = crawl_jobs(service)["crawl:xx_sched_fairs"]
    assert next_run is not None and next_run.strftime("%a %H:%M") == "Wed 05:30"

    store.add_source(spec(schedule="30 5 * * 3", enabled=False), replace=True)
    assert service.sync().remove == ["crawl:xx_sched_fairs"]
    assert crawl_jobs(service) == {}

    store.add_source(spec(), replace=True)
    service.sync()
    store.remove_source("xx_sched_fairs")
    assert service.sync().remove == ["crawl:xx_sched_fairs"]
    assert crawl_jobs(service) == {}


def test_unchanged_source_keeps_its_next_run_time(service: SchedulerService, store: Store) -> None:
    store.add_source(spec())
    service.sync()
    later = datetime.now(UTC) + timedelta(days=3, hours=1)
    service.scheduler.modify_job("crawl:xx_sched_fairs", next_run_time=later)
    # An edit elsewhere in the registry must not reset this job's timing.
    store.add_source(spec("xx_other_fairs"))
    assert service.sync().add == ["crawl:xx_other_fairs"]
    assert crawl_jobs(service)["crawl:xx_sched_fairs"] == later


def test_disabling_a_source_cancels_its_pending_retries(
    service: SchedulerService, store: Store
) -> None:
    store.add_source(spec())
    service.sync()
    service.scheduler.add_job(
        "schedules.service:crawl_job",
        "date",
        run_date=datetime.now(UTC) + timedelta(days=1),
        id="retry:xx_sched_fairs:1",
        args=["xx_sched_fairs", 1],
    )
    store.add_source(spec(enabled=False), replace=True)
    assert sorted(service.sync().remove) == ["crawl:xx_sched_fairs", "retry:xx_sched_fairs:1"]
    assert crawl_jobs(service) == {}


def test_an_invalid_schedule_is_reported_and_keeps_the_previous_job(
    service: SchedulerService, store: Store
) -> None:
    store.add_source(spec())
    service.sync()
    before = crawl_jobs(service)["crawl:xx_sched_fairs"]
    # Saving refuses such a schedule (tests/security/test_cron_schedules.py); a source stored
    # before that check still must not stop the scheduler.
    store.add_source(spec().model_copy(update={"schedule": "0 4 * * 9"}), replace=True)
    plan = service.sync()
    assert "xx_sched_fairs" in plan.invalid and "0 4 * * 9" in plan.invalid["xx_sched_fairs"]
    assert crawl_jobs(service) == {"crawl:xx_sched_fairs": before}
    store.add_source(spec("xx_new_fairs").model_copy(update={"schedule": "99 * * * *"}))
    assert "xx_new_fairs" in service.sync().invalid
    assert "crawl:xx_new_fairs" not in crawl_jobs(service)


def test_the_periodic_sync_picks_up_a_new_source(service: SchedulerService, store: Store) -> None:
    events = JobEvents(service.scheduler)
    store.add_source(spec())
    # Run the scheduler's own sync job now instead of waiting for its interval.
    service.scheduler.modify_job(SYNC_JOB_ID, jobstore="internal", next_run_time=datetime.now(UTC))
    events.wait_executed(SYNC_JOB_ID)
    assert "crawl:xx_sched_fairs" in crawl_jobs(service)


def test_jobs_persist_in_the_system_of_record(settings: Settings, store: Store) -> None:
    store.add_source(spec())
    first = SchedulerService(settings, store)
    first.start()
    jitter_run = crawl_jobs(first)["crawl:xx_sched_fairs"]
    first.stop(grace=0)

    # A new scheduler finds the job as it was (same next run, jitter included): not re-added.
    second = SchedulerService(settings, store)
    plan = second.start()
    try:
        assert plan.add == [] and plan.reschedule == []
        assert crawl_jobs(second) == {"crawl:xx_sched_fairs": jitter_run}
        ids = {j.id for j in second.jobs()}
        assert {"digest:daily", "digest:weekly"} <= ids
    finally:
        second.stop(grace=0)
