"""Crawls in the test process.

Production runs every crawl in a child process (`python -m crawlers.runner`), because Twisted's
reactor cannot be restarted. Starting Python, Scrapy and the reactor costs about two seconds a
crawl, which most tests do not test. So here one reactor runs for the whole test process, in a
background thread, and a crawl is the same spider, collector and Scrapy settings
(`crawlers.runner.prepare_crawl`) run by a `CrawlerRunner` on it, followed by the same post-run
code (`crawlers.runner.finalise_run`).

`InProcessChildren` stands in for the `subprocess` module of the code that launches crawl and
preview processes (`search_api.services.crawls`, `search_api.services.sources`): everything
around the process (recording the run, the time limit, a run whose process died) stays the
production code; only `python -m crawlers.runner` / `crawlers.preview` run here instead. The
tests of the child-process lifecycle (kill -9, time limits, exit codes) opt out with the
`crawl_process` marker and get real children.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from search_api.domain.sources import SourceSpec
from search_api.settings import Settings
from search_api.store import RunStats, Store

START_TIMEOUT = 30.0
# What a test waits at teardown for crawls it started in the background (API, web pages).
BACKGROUND_GRACE = 120.0

_lock = threading.Lock()
_reactor: Any = None


def running_reactor(scrapy_settings: Mapping[str, Any]) -> Any:
    """The reactor Scrapy's settings ask for, running in a daemon thread of this process
    (started on first use, then kept: a reactor cannot be restarted)."""
    global _reactor
    with _lock:
        if _reactor is None:
            _reactor = _start_reactor(scrapy_settings)
        return _reactor


def _start_reactor(scrapy_settings: Mapping[str, Any]) -> Any:
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.reactor import install_reactor

    conf = ScrapySettings(dict(scrapy_settings))
    ready = threading.Event()
    failure: list[BaseException] = []
    holder: list[Any] = []

    def run() -> None:
        try:
            # In this thread, so that the asyncio loop Scrapy makes for the reactor is this
            # thread's loop, never the test thread's.
            install_reactor(conf["TWISTED_REACTOR"], conf["ASYNCIO_EVENT_LOOP"])
            from twisted.internet import reactor
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        holder.append(reactor)
        reactor.callWhenRunning(ready.set)
        reactor.run(installSignalHandlers=False)

    threading.Thread(target=run, name="twisted-reactor", daemon=True).start()
    if not ready.wait(START_TIMEOUT):
        raise RuntimeError(f"the Twisted reactor did not start within {START_TIMEOUT}s")
    if failure:
        raise failure[0]
    return holder[0]


def crawl_here(settings: Settings, spec: SourceSpec, timeout: float | None = None) -> Any:
    """Crawl `spec` on this process's reactor and return the collector, as
    `crawlers.runner.crawl_in_this_process` does in a crawl process. Raises
    `subprocess.TimeoutExpired` (after stopping the crawl) past `timeout` seconds."""
    from scrapy.crawler import CrawlerRunner
    from twisted.internet.defer import maybeDeferred
    from twisted.python.failure import Failure

    from crawlers.runner import prepare_crawl

    spider_cls, collector, scrapy_settings = prepare_crawl(settings, spec)
    reactor = running_reactor(scrapy_settings)
    done: queue.Queue[Any] = queue.Queue()
    runners: list[CrawlerRunner] = []

    def start() -> None:
        def crawl() -> Any:
            runner = CrawlerRunner(scrapy_settings)
            runners.append(runner)
            return runner.crawl(spider_cls, collector=collector)

        maybeDeferred(crawl).addBoth(done.put)

    reactor.callFromThread(start)
    try:
        result = done.get(timeout=timeout)
    except queue.Empty:
        # As the caller would kill a crawl process: stop it, then report the overrun.
        if runners:
            reactor.callFromThread(runners[0].stop)
        done.get(timeout=BACKGROUND_GRACE)
        raise subprocess.TimeoutExpired(f"crawl of {spec.id}", timeout or 0) from None
    if isinstance(result, Failure):
        result.raiseException()
    return collector


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The settings a crawl process started with `env` would read (`Settings.child_env()`
    writes every field; an unset optional field is left out, so it is None)."""
    values: dict[str, Any] = {}
    for name, info in Settings.model_fields.items():
        key = f"TRADEPOINT_{name.upper()}"
        if key in env:
            values[name] = env[key]
        elif info.default is None:
            values[name] = None
    return Settings(**values)


def run_runner_here(argv: Sequence[str], env: Mapping[str, str], timeout: float | None) -> int:
    """`python -m crawlers.runner SOURCE --run-id N` in this process: its exit code."""
    from crawlers.runner import finalise_run

    source_id, flag, run_id_text = argv
    assert flag == "--run-id", argv
    run_id = int(run_id_text)
    settings = settings_from_env(env)
    store = Store(settings.sqlalchemy_url)
    try:
        spec = store.get_source(source_id)
        try:
            collector = crawl_here(settings, spec, timeout)
        except subprocess.TimeoutExpired:
            raise
        except Exception as exc:
            # as crawlers.runner.main: the run fails with the error, nothing is written
            store.finish_run(run_id, "failed", RunStats(), f"{type(exc).__name__}: {exc}")
            return 1
        outcome = finalise_run(store, spec, run_id, collector)
        return 0 if outcome.ok else 1
    finally:
        store.close()


def run_preview_here(env: Mapping[str, str], raw: str) -> str:
    """`python -m crawlers.preview` in this process: the JSON line it prints."""
    from crawlers.preview import run_preview

    out = run_preview(settings_from_env(env), raw)
    return json.dumps(out, ensure_ascii=False, default=str) + "\n"


def _crawl_module(args: Any) -> str | None:
    is_crawl = (
        isinstance(args, list | tuple)
        and len(args) >= 3
        and args[1] == "-m"
        and args[2] in ("crawlers.runner", "crawlers.preview")
    )
    return str(args[2]) if is_crawl else None


class InProcessRun:
    """What `subprocess.Popen` returns for a crawl process, for a crawl run in a thread here.
    Its pid is this process's: alive while the test runs, so the run is never taken for an
    orphan."""

    def __init__(self, target: Callable[[], int]) -> None:
        self.pid = os.getpid()
        self.returncode: int | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self._thread.start()

    def _run(self, target: Callable[[], int]) -> None:
        try:
            self.returncode = target()
        except BaseException:
            self.returncode = 1
            raise

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired("in-process crawl", timeout or 0)
        return self.returncode if self.returncode is not None else 1

    def kill(self) -> None:
        """A crawl in this process cannot be killed; the time limit stops it (crawl_here)."""


class InProcessChildren:
    """Stands in for the `subprocess` module where crawl processes are started: crawls and
    previews run in this process; any other command runs for real."""

    TimeoutExpired = subprocess.TimeoutExpired
    CalledProcessError = subprocess.CalledProcessError
    CompletedProcess = subprocess.CompletedProcess
    DEVNULL = subprocess.DEVNULL
    PIPE = subprocess.PIPE
    STDOUT = subprocess.STDOUT

    def __init__(self) -> None:
        self.crawls = 0
        self.background: list[InProcessRun] = []
        # Set by the conftest: a test not marked `crawl` that crawls is a mislabelled test.
        self.refuse: str | None = None

    def _count(self, args: Sequence[str]) -> None:
        self.crawls += 1
        if self.refuse:
            raise RuntimeError(f"{self.refuse}: {' '.join(args[2:])}")

    def run(self, args: Any, **kw: Any) -> subprocess.CompletedProcess[Any]:
        module = _crawl_module(args)
        if module is None:
            return subprocess.run(args, **kw)
        self._count(args)
        env = kw.get("env") or os.environ
        timeout = kw.get("timeout")
        if module == "crawlers.runner":
            return subprocess.CompletedProcess(args, run_runner_here(args[3:], env, timeout))
        out = run_preview_here(env, kw.get("input") or "")
        return subprocess.CompletedProcess(args, 0, stdout=out, stderr="")

    def Popen(self, args: Any, **kw: Any) -> Any:
        module = _crawl_module(args)
        if module != "crawlers.runner":
            return subprocess.Popen(args, **kw)
        self._count(args)
        env = dict(kw.get("env") or os.environ)
        proc = InProcessRun(lambda: run_runner_here(args[3:], env, None))
        self.background.append(proc)
        return proc

    def pids(self, *argv: str) -> list[int]:
        """What `WarmChildren.pids` says: none here, an in-process crawl has no process."""
        return []

    def wait_for_background(self, timeout: float = BACKGROUND_GRACE) -> list[InProcessRun]:
        """Wait for crawls started in the background; those still running after `timeout`."""
        for proc in self.background:
            proc._thread.join(timeout)
        return [p for p in self.background if p._thread.is_alive()]
