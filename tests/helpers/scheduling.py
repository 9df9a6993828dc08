"""Watching a real APScheduler: waiting for conditions and job events, running a job now."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_ALL,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    JobEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.base import BaseScheduler

from schedules.service import SchedulerService

DEADLINE = 120.0


def wait_until(cond: Callable[[], object], timeout: float = DEADLINE, what: str = "") -> None:
    done = threading.Event()
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not cond():
        if datetime.now(UTC) > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        done.wait(0.1)


class JobEvents:
    """Every job event of a scheduler, to wait on executions and count submissions."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self.events: list[tuple[int, str]] = []
        self._cond = threading.Condition()
        scheduler.add_listener(self._on_event, EVENT_ALL)

    def _on_event(self, event: SchedulerEvent) -> None:
        if isinstance(event, JobEvent) or hasattr(event, "job_id"):
            with self._cond:
                self.events.append((event.code, event.job_id))  # type: ignore[attr-defined]
                self._cond.notify_all()

    def count(self, code: int, job_id: str) -> int:
        with self._cond:
            return sum(1 for c, j in self.events if c & code and j == job_id)

    def wait_for(self, code: int, job_id: str, n: int = 1) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: self.count(code, job_id) >= n, timeout=DEADLINE)
        assert ok, f"job {job_id}: no event {code} within {DEADLINE}s; saw {self.events}"

    def wait_executed(self, job_id: str, n: int = 1) -> None:
        self.wait_for(EVENT_JOB_EXECUTED | EVENT_JOB_ERROR, job_id, n)
        assert self.count(EVENT_JOB_ERROR, job_id) == 0, f"job {job_id} raised"


def run_now(svc: SchedulerService, job_id: str) -> None:
    svc.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
