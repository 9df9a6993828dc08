"""Watching a real APScheduler: waiting for conditions and job events, running a job now; a
loopback site whose pages answer when the test says, and the services a test starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from apscheduler.events import (
    EVENT_ALL,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    JobEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.base import BaseScheduler

from schedules.service import SchedulerService
from search_api.settings import Settings
from search_api.store import Store

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


class GatedSite:
    """A loopback site whose pages are held until `release` is set (robots.txt answers at
    once: there is none); who asked is noted by the first part of the path. `page(path)` makes
    the body of a released page; without it, a released page is an empty answer."""

    def __init__(self, page: Callable[[str], bytes] | None = None) -> None:
        self.release = threading.Event()
        self.asked: list[tuple[str, float]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    self.send_response(404)
                    self.end_headers()
                    return
                site.asked.append((self.path.split("/")[1], time.monotonic()))
                site.release.wait(DEADLINE)
                body = page(self.path) if page else b""
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sources_asked(self) -> set[str]:
        return {who for who, _ in self.asked}

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


ServiceFactory = Callable[..., SchedulerService]


def service_factory(settings: Settings, store: Store, **defaults: Any) -> Iterator[ServiceFactory]:
    """For a fixture: `make(start=True, settings={...}, **kw)` makes a SchedulerService (no
    jitter; `defaults` and `kw` passed on) and starts it; all are stopped at the end."""
    made: list[SchedulerService] = []

    def make(start: bool = True, **kw: Any) -> SchedulerService:
        overrides = {"scheduler_jitter_seconds": 0, **kw.pop("settings", {})}
        svc = SchedulerService(settings.model_copy(update=overrides), store, **defaults, **kw)
        made.append(svc)
        if start:
            svc.start()
        return svc

    yield make
    for svc in made:
        svc.stop(grace=0)
