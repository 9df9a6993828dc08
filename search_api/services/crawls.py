"""Starting crawls: the one place that launches a crawl process.

Each run is a child process, `python -m crawlers.runner SOURCE --run-id N` (Twisted's reactor
cannot be restarted, and a crash must not take the caller with it). The child gets the
caller's settings through `Settings.child_env()`, so a crawl writes where its caller reads.
`search_api` never imports `crawlers`: it names the module to run.

- `run_crawl` waits for the run (command line, scheduler, demo);
- `start_crawl` returns at once and a thread reaps the process (the API and web pages).
Both record the run first, enforce the time limit, and fail the run when the child dies
before it could record an outcome.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from search_api.errors import TradepointError
from search_api.settings import Settings
from search_api.store import RunStats, Store

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 30
"""A crawl child may overrun its time limit by this much (to stop and write by itself)."""
CRAWL_MODULE = "crawlers.runner"


@dataclass
class CrawlOutcome:
    source_id: str
    run_id: int
    status: str
    message: str | None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def hard_limit(settings: Settings) -> int:
    """Seconds after which the caller kills a crawl process that did not end itself."""
    return settings.crawl_timeout + KILL_GRACE_SECONDS


def _begin(settings: Settings, store: Store, source_id: str) -> int:
    store.get_source(source_id)  # NotFound before starting a process
    return store.start_run(
        source_id, stale_after=timedelta(seconds=hard_limit(settings) + KILL_GRACE_SECONDS)
    )


def _command(source_id: str, run_id: int) -> list[str]:
    return [sys.executable, "-m", CRAWL_MODULE, source_id, "--run-id", str(run_id)]


def _env(settings: Settings, env: Mapping[str, str] | None) -> dict[str, str]:
    return {**settings.child_env(), **(env or {})}


def _record_death(store: Store, run_id: int, code: int | None, limit: float) -> None:
    """Fail a run whose process ended (or was killed) before recording an outcome."""
    if store.get_run(run_id).status != "running":
        return
    message = (
        f"killed after exceeding the time limit of {limit:g}s"
        if code is None
        else f"crawl process exited with status {code} before finishing"
    )
    store.finish_run(run_id, "failed", RunStats(), message)


def run_crawl(
    settings: Settings,
    source_id: str,
    store: Store,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> CrawlOutcome:
    """Crawl one source in a child process and wait for it.

    `env` adds environment variables for the child; `timeout` overrides the hard limit after
    which the child is killed (default: the crawl timeout plus a grace period)."""
    run_id = _begin(settings, store, source_id)
    limit = timeout if timeout is not None else hard_limit(settings)
    try:
        proc = subprocess.run(
            _command(source_id, run_id), env=_env(settings, env), timeout=limit, check=False
        )
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        code = None
    _record_death(store, run_id, code, limit)
    run = store.get_run(run_id)
    return CrawlOutcome(source_id, run_id, run.status, run.message)


def start_crawl(
    settings: Settings, store: Store, source_id: str, env: Mapping[str, str] | None = None
) -> int:
    """Record a run and start its crawl process; return the run id without waiting."""
    run_id = _begin(settings, store, source_id)
    limit = hard_limit(settings)
    try:
        # A session of its own: the crawl survives a restart of the server that started it.
        proc = subprocess.Popen(
            _command(source_id, run_id),
            env=_env(settings, env),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        store.finish_run(run_id, "failed", RunStats(), f"cannot start the crawl process: {exc}")
        raise TradepointError("cannot start the crawl process", status_code=503) from exc
    store.set_run_pid(run_id, proc.pid)
    threading.Thread(
        target=_watch, args=(store, run_id, proc, limit), name=f"crawl-{run_id}", daemon=True
    ).start()
    return run_id


def _watch(store: Store, run_id: int, proc: subprocess.Popen[bytes], limit: int) -> None:
    """Reap the child, enforce the time limit, and fail the run if the child could not."""
    try:
        code: int | None = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    try:
        _record_death(store, run_id, code, limit)
    except Exception:
        log.exception("could not record the end of run %s", run_id)
