"""Starting crawls: the one place that launches a crawl process.

Each run is a child process, `python -m crawlers.runner SOURCE --run-id N` (Twisted's reactor
cannot be restarted, and a crash must not take the caller with it). The child gets the
caller's settings through `Settings.child_env()`, so a crawl writes where its caller reads.
`search_api` never imports `crawlers`: it names the modules to run.

- `run_crawl` waits for the run (command line, scheduler, demo). Its child is forked from a
  server process that has imported Python, Scrapy and the crawler once (`WarmChildren`), so a
  run does not pay 1-3 s of imports before its first request;
- `start_crawl` returns at once and a thread reaps the process (the API and web pages). Its
  child is a fresh `python -m crawlers.runner` in a session of its own, so that it outlives a
  restart of the server that started it (a forked child would share the fork server's fate).
Both record the run first, enforce the time limit, and fail the run when the child dies
before it could record an outcome.
"""

from __future__ import annotations

import functools
import importlib
import io
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import forkserver, popen_forkserver, reduction, util
from multiprocessing.context import ForkServerProcess, set_spawning_popen
from typing import Any

from search_api.errors import TradepointError
from search_api.settings import Settings
from search_api.store import RunStats, Store

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 30
"""A crawl child may overrun its time limit by this much (to stop and write by itself)."""
CRAWL_MODULE = "crawlers.runner"
WARM_MODULE = "crawlers.warm"
"""Imported by the fork server before it forks crawl children: everything a run imports."""


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


def _not_started(store: Store, run_id: int, exc: OSError) -> str:
    """Fail a run whose process could not be made; the message recorded."""
    message = f"cannot start the crawl process: {exc}"
    store.finish_run(run_id, "failed", RunStats(), message)
    return message


def _child_main(module: str, argv: list[str], env: dict[str, str]) -> None:
    """A forked crawl child: the caller's environment (settings, secrets), then the module's
    `main`, as `python -m module ARGV` would run it."""
    os.environ.clear()
    os.environ.update(env)
    sys.exit(importlib.import_module(module).main(argv))


class _Popen(popen_forkserver.Popen):
    """The fork server's Popen, except that the child does not run the caller's main script
    again: multiprocessing re-runs it (as `__mp_main__`) so that functions defined there can
    be unpickled, which would make every script that crawls need an `if __name__` guard and
    pay its imports once more per run. Ours needs nothing from it: the target is
    `_child_main`, found by module name.

    `_launch` is multiprocessing.popen_forkserver.Popen._launch (CPython 3.11-3.13) with the
    main module left out of the preparation data; tests/test_warm_children.py runs a script
    without a guard, which fails if a Python version changes this."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = _spawn_preparation(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        # The write end stays open in this process: the child reads its closing as our death.
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(
            self,
            util.close_fds,  # type: ignore[attr-defined]
            (parent_w, self.sentinel),
        )
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


def _spawn_preparation(name: str) -> dict[str, Any]:
    from multiprocessing import spawn

    data = spawn.get_preparation_data(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


class _CrawlProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


@functools.cache
def _fork_server() -> bool:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False  # not a POSIX system: plain child processes
    forkserver.set_forkserver_preload([WARM_MODULE])
    return True


class WarmChildren:
    """`subprocess.run` for `[python, -m, MODULE, ARGS...]`, forked from multiprocessing's fork
    server, which imports `WARM_MODULE` once when it starts.

    Each run stays a process of its own (killed alone, its own reactor, a crash touches no
    other run), but start-up is a fork rather than Python, Scrapy and the crawler imported
    again: about 1-3 s a run, which was most of a small source's crawl (issue 17, target 6).
    The children are not this process's own, so their pids are kept here (`pids`) for the
    scheduler to kill an interrupted run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, tuple[tuple[str, ...], int]] = {}
        self._broken = False

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        if self._broken or not _fork_server() or len(args) < 3 or args[1] != "-m":
            return subprocess.run(list(args), env=dict(env), timeout=timeout, check=False)
        proc = _CrawlProcess(
            target=_child_main, args=(args[2], list(args[3:]), dict(env)), name=args[2]
        )
        try:
            proc.start()
        except (OSError, EOFError) as exc:
            # The fork server died while importing (a module of the crawler that raises at
            # import, say): a fresh process reports that error as the run's own. Not retried
            # in this process, where every run would pay a failed server start first.
            log.warning("crawl fork server unusable (%s); crawls start fresh processes", exc)
            self._broken = True
            return subprocess.run(list(args), env=dict(env), timeout=timeout, check=False)
        with self._lock:
            self._running[id(proc)] = (tuple(args), proc.pid or 0)
        try:
            proc.join(timeout)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
                raise subprocess.TimeoutExpired(list(args), timeout or 0)
            code = int(proc.exitcode)
        finally:
            with self._lock:
                del self._running[id(proc)]
        return subprocess.CompletedProcess(list(args), code)

    def pids(self, *argv: str) -> list[int]:
        """Pids of the running children whose command line contains `argv` in order."""
        n = len(argv)
        with self._lock:
            return [
                pid
                for args, pid in self._running.values()
                if any(args[i : i + n] == argv for i in range(len(args) - n + 1))
            ]


warm = WarmChildren()


def crawl_pids(run_id: int) -> list[int]:
    """Pids of the crawl children of `run_id` that `run_crawl` started in this process."""
    return warm.pids("--run-id", str(run_id))


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
        proc = warm.run(_command(source_id, run_id), env=_env(settings, env), timeout=limit)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        code = None
    except OSError as exc:  # no process could be made (out of memory, too many processes)
        return CrawlOutcome(source_id, run_id, "failed", _not_started(store, run_id, exc))
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
        _not_started(store, run_id, exc)
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
