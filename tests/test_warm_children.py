"""Crawl processes forked from a warm fork server (`search_api.services.crawls.WarmChildren`):
each run is still a process of its own, with the caller's environment and exit status, killed
at its time limit, and without Python, Scrapy and the crawler imported again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from search_api.domain.sources import parse_source
from search_api.services import crawls
from search_api.services.crawls import WarmChildren, run_crawl
from search_api.settings import Settings
from search_api.store import Store

pytestmark = pytest.mark.crawl_process

PROBE = "tests.helpers.child_probe"
ROOT = Path(__file__).resolve().parents[1]


def _probe(out: Path, code: int = 0, pause: float = 0.0) -> list[str]:
    return [sys.executable, "-m", PROBE, str(out), str(code), str(pause)]


def test_a_child_gets_the_callers_environment_argv_and_exit_status(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    os.environ["TP_PARENT_ONLY"] = "leaks?"
    try:
        done = WarmChildren().run(_probe(out, code=3), env={"TP_PROBE": "yes", "PATH": "/bin"})
    finally:
        del os.environ["TP_PARENT_ONLY"]
    assert done.returncode == 3
    seen = json.loads(out.read_text())
    assert seen["argv"] == [str(out), "3", "0.0"]
    assert seen["probe_env"] == "yes"
    # Exactly the environment given, as subprocess.run(env=...) would: nothing else leaks in.
    assert seen["parent_only_env"] is None
    assert seen["pid"] != os.getpid()


def test_a_child_starts_warm_without_a_reactor(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    WarmChildren().run(_probe(out), env=dict(os.environ))
    seen = json.loads(out.read_text())
    assert seen["scrapy_loaded"], "the fork server should have imported Scrapy already"
    # Each run installs the reactor its Scrapy settings ask for: none may be inherited.
    assert not seen["reactor_installed"]
    assert seen["threads"] == 1


def test_a_child_overrunning_its_limit_is_killed(tmp_path: Path) -> None:
    warm = WarmChildren()
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        warm.run(_probe(tmp_path / "seen.json", pause=60), env=dict(os.environ), timeout=1)
    assert time.monotonic() - started < 30
    pid = json.loads((tmp_path / "seen.json").read_text())["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert warm.pids(PROBE) == []


def test_running_children_are_found_by_their_arguments(tmp_path: Path) -> None:
    warm = WarmChildren()
    out = tmp_path / "seen.json"
    thread = threading.Thread(
        target=warm.run, args=(_probe(out, pause=2),), kwargs={"env": dict(os.environ)}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = json.loads(out.read_text())["pid"]
        assert warm.pids(str(out), "0") == [pid]
        assert warm.pids(str(out), "1") == []
    finally:
        thread.join(30)
    assert warm.pids(str(out)) == []


def test_a_script_without_a_main_guard_can_start_children(tmp_path: Path) -> None:
    """multiprocessing re-runs the parent's main script in each child unless told otherwise:
    a caller's script that crawls at top level would then crawl again in every child."""
    out = tmp_path / "seen.json"
    script = tmp_path / "crawl_now.py"
    script.write_text(
        "import os, sys\n"
        "from search_api.services.crawls import WarmChildren\n"
        f"args = [sys.executable, '-m', {PROBE!r}, {str(out)!r}, '0', '0']\n"
        "print('ran', WarmChildren().run(args, env=dict(os.environ)).returncode)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ran 0") == 1
    assert json.loads(out.read_text())["main_module"] != str(script)


def test_a_fork_server_that_cannot_start_leaves_crawls_to_fresh_processes(
    tmp_path: Path,
) -> None:
    """A crawler module that raises at import kills the fork server while it preloads: the
    run must still start (in a fresh process, which then reports the error as its own)."""
    (tmp_path / "broken_warm.py").write_text("raise RuntimeError('broken at import')\n")
    out = tmp_path / "seen.json"
    script = tmp_path / "crawl_now.py"
    script.write_text(
        "import os, sys\n"
        "from search_api.services import crawls\n"
        "crawls.WARM_MODULE = 'broken_warm'\n"
        "warm = crawls.WarmChildren()\n"
        f"args = [sys.executable, '-m', {PROBE!r}, {str(out)!r}, '5', '0']\n"
        "print('first', warm.run(args, env=dict(os.environ)).returncode)\n"
        "print('second', warm.run(args, env=dict(os.environ)).returncode)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "first 5" in done.stdout and "second 5" in done.stdout
    assert "crawl fork server unusable" in done.stderr
    assert json.loads(out.read_text())["argv"][1] == "5"


class NoProcesses:
    """Where no process can be made (the system is out of memory or of process slots): a
    condition this machine cannot produce on demand for a root user."""

    def run(self, args: Any, **kw: Any) -> Any:
        raise OSError(11, "Resource temporarily unavailable")

    def pids(self, *argv: str) -> list[int]:
        return []


def test_a_run_whose_process_cannot_start_is_recorded_failed(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_source(
        parse_source(
            {
                "id": "xx_no_process",
                "name": "No process",
                "kind": "fair",
                "format": "ical",
                "start_urls": ["http://127.0.0.1:9/cal.ics"],
            }
        )
    )
    monkeypatch.setattr(crawls, "warm", NoProcesses())
    outcome = run_crawl(settings, "xx_no_process", store)
    assert outcome.status == "failed"
    assert (
        outcome.message
        == "cannot start the crawl process: [Errno 11] Resource temporarily unavailable"
    )
    [run] = store.list_runs("xx_no_process")
    # Not left "running" until it goes stale: the scheduler retries a failed run.
    assert run.status == "failed" and run.finished_at is not None
