"""`kill -9` of a crawl child mid-run: the run ends recorded as failed or interrupted (never
stuck "running"), nothing is half-written, and the next run completes with every record once.

The loopback site serves its event pages slowly, so the kill lands while pages are in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from search_api.domain.sources import SourceSpec, parse_source
from search_api.services.crawls import CrawlOutcome, crawl_pids, run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.fault_server import FaultServer, event_title
from tests.helpers.fault_server import run_fault_server as _run_fault_server

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
    # What is killed is the crawl child process itself.
    pytest.mark.crawl_process,
]

FIRST_EVENTS = 12
MORE_EVENTS = 20
DEADLINE = 60.0
ENV = {"TRADEPOINT_DOWNLOAD_TIMEOUT": "10", "TRADEPOINT_CRAWL_TIMEOUT": "60"}


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with _run_fault_server() as server:
        yield server


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _crawl_children(store: Store, source_id: str) -> list[int]:
    """Pids of the crawl processes `run_crawl` started in this process for the source's run."""
    run = store.running_run(source_id)
    return crawl_pids(run.id) if run else []


def _site_source(store: Store, faults: FaultServer) -> SourceSpec:
    spec = parse_source(
        dict(
            id="xx_slow_site",
            name="Slow site",
            kind="fair",
            format="schema_org",
            start_urls=[faults.url("/site/index.html")],
            follow={"allow": ["/site/event-"], "max_pages": 100},
            min_items=1,
        )
    )
    store.add_source(spec)
    return spec


def _assert_complete(store: Store, spec: SourceSpec, faults: FaultServer) -> None:
    """Every event of the site is stored exactly once."""
    records = store.list_records(spec.id)
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids))
    assert store.count_records(spec.id) == faults.site_events
    assert {r.title for r in records} == {event_title(n) for n in faults.site_names()}


def _first_run(settings: Settings, store: Store, spec: SourceSpec, faults: FaultServer) -> int:
    faults.site_events = FIRST_EVENTS
    outcome = run_crawl(settings, spec.id, store, env=ENV)
    assert outcome.status == "succeeded", outcome.message
    _assert_complete(store, spec, faults)
    # The site grows and slows down: the next run has new pages to lose.
    faults.site_events, faults.page_delay = MORE_EVENTS, 1.0
    return faults.count("/site/event-")


def test_kill_9_of_a_supervised_crawl(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    spec = _site_source(store, faults)
    served_before = _first_run(settings, store, spec, faults)

    outcomes: list[CrawlOutcome] = []
    thread = threading.Thread(
        target=lambda: outcomes.append(run_crawl(settings, spec.id, store, env=ENV))
    )
    thread.start()
    try:
        _wait_for(lambda: faults.count("/site/event-") >= served_before + 3, "pages in flight")
        _wait_for(lambda: bool(_crawl_children(store, spec.id)), "the crawl child")
        [pid] = _crawl_children(store, spec.id)
        os.kill(pid, signal.SIGKILL)
    finally:
        thread.join(DEADLINE)
    assert not thread.is_alive()

    [killed] = outcomes
    assert killed.status == "failed"
    assert "status -9" in (killed.message or "")
    run = store.get_run(killed.run_id)
    assert run.status == "failed" and run.finished_at is not None
    # All or nothing: the killed run wrote none of the pages it had fetched.
    assert store.count_records(spec.id) == FIRST_EVENTS

    faults.page_delay = 0.0
    outcome = run_crawl(settings, spec.id, store, env=ENV)
    assert outcome.status == "succeeded", outcome.message
    _assert_complete(store, spec, faults)
    final = store.get_run(outcome.run_id)
    assert (final.items_new, final.items_unchanged) == (MORE_EVENTS - FIRST_EVENTS, FIRST_EVENTS)


def test_kill_9_of_an_orphaned_crawl(settings: Settings, store: Store, faults: FaultServer) -> None:
    """As `POST /sources/{id}/crawl` starts it: a child in its own session, nobody waiting on
    it. The dead run is found stale by the next start and marked interrupted."""
    spec = _site_source(store, faults)
    served_before = _first_run(settings, store, spec, faults)

    run_id = store.start_run(spec.id)
    child = subprocess.Popen(
        [sys.executable, "-m", "crawlers.runner", spec.id, "--run-id", str(run_id)],
        env={**os.environ, **ENV},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    store.set_run_pid(run_id, child.pid)
    try:
        _wait_for(lambda: faults.count("/site/event-") >= served_before + 3, "pages in flight")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(DEADLINE)
    assert child.returncode == -signal.SIGKILL
    assert store.get_run(run_id).status == "running"  # nobody recorded the end yet
    assert store.count_records(spec.id) == FIRST_EVENTS

    faults.page_delay = 0.0
    outcome = run_crawl(settings, spec.id, store, env=ENV)

    dead = store.get_run(run_id)
    assert dead.status == "interrupted" and dead.finished_at is not None
    assert "process is gone" in (dead.message or "")
    assert outcome.status == "succeeded", outcome.message
    _assert_complete(store, spec, faults)
    assert [r.status for r in store.list_runs(spec.id)] == ["succeeded", "interrupted", "succeeded"]


def test_an_orphaned_crawl_past_its_time_limit_ends_itself(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    """Nobody is left to enforce the limit of a crawl whose API restarted: the crawl process
    stops itself and records why. Here the process is stuck (asleep) past a 2 s limit."""
    spec = _site_source(store, faults)
    run_id = store.start_run(spec.id)
    code = (
        "import time\n"
        "from crawlers.runner import end_when_overrun\n"
        "from search_api.settings import Settings\n"
        "from search_api.store import Store\n"
        f"end_when_overrun(Store(Settings().sqlalchemy_url), {run_id}, 2)\n"
        "time.sleep(120)\n"
    )
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **ENV},
        stdin=subprocess.DEVNULL,
        timeout=DEADLINE,
        check=False,
    )
    assert child.returncode == 3
    assert time.monotonic() - started < 30
    run = store.get_run(run_id)
    assert run.status == "failed"
    assert run.message == "stopped itself after exceeding the time limit of 2s"
