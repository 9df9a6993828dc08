"""One active scheduler on PostgreSQL: an advisory lock on a dedicated connection elects it, from
any host; the others wait as standby and take over when its session ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from schedules.cli import FileLeaderLock, PgAdvisoryLeaderLock, leader_lock, wait_for_leadership
from search_api.settings import Settings

DEADLINE = 60.0


@pytest.fixture
def pg_settings(settings: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TRADEPOINT_DATABASE_URL", pg_url)
    return Settings()


@pytest.fixture
def locks(pg_url: str) -> Iterator[tuple[PgAdvisoryLeaderLock, PgAdvisoryLeaderLock]]:
    a, b = PgAdvisoryLeaderLock(pg_url), PgAdvisoryLeaderLock(pg_url)
    yield a, b
    a.release()
    b.release()


def test_postgresql_settings_select_the_advisory_lock(pg_settings: Settings) -> None:
    lock = leader_lock(pg_settings)
    assert isinstance(lock, PgAdvisoryLeaderLock)
    lock.release()


def test_sqlite_keeps_the_lock_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TRADEPOINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRADEPOINT_DATA_DIR", str(tmp_path))
    assert isinstance(leader_lock(Settings()), FileLeaderLock)


def test_one_connection_holds_the_lock_the_other_waits(
    locks: tuple[PgAdvisoryLeaderLock, PgAdvisoryLeaderLock],
) -> None:
    active, standby = locks
    assert active.try_acquire()
    assert active.held()
    assert not standby.try_acquire()
    assert not standby.held()
    assert "tradepoint-scheduler" in standby.holder()
    assert f"pid {os.getpid()}" in standby.holder()
    active.release()
    assert not active.held()
    assert standby.try_acquire()


def test_a_standby_takes_over_when_the_active_one_stops(
    locks: tuple[PgAdvisoryLeaderLock, PgAdvisoryLeaderLock],
) -> None:
    active, standby = locks
    assert active.try_acquire()
    stop = threading.Event()
    outcome: list[bool] = []
    waiter = threading.Thread(
        target=lambda: outcome.append(wait_for_leadership(standby, stop, poll=0.05))
    )
    waiter.start()
    try:
        assert not standby.held()
        active.release()
        waiter.join(DEADLINE)
    finally:
        stop.set()
        waiter.join(DEADLINE)
    assert outcome == [True]
    assert standby.held()


def test_a_crashed_scheduler_process_frees_the_lock(
    pg_settings: Settings, locks: tuple[PgAdvisoryLeaderLock, PgAdvisoryLeaderLock]
) -> None:
    # Another process takes the lock, then dies without releasing it (SIGKILL): PostgreSQL
    # ends its session, and with it the lock.
    code = (
        "import sys, time\n"
        "from schedules.cli import leader_lock\n"
        "from search_api.settings import Settings\n"
        "lock = leader_lock(Settings())\n"
        "print('held' if lock.try_acquire() else 'refused', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        standby = locks[1]
        assert not standby.try_acquire()
        assert f"pid {proc.pid}" in standby.holder()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(DEADLINE)
    deadline = time.monotonic() + DEADLINE
    while not standby.try_acquire():
        assert time.monotonic() < deadline, "the lock outlived the crashed process"
        time.sleep(0.1)


def test_a_lost_session_is_noticed(
    pg_url: str, locks: tuple[PgAdvisoryLeaderLock, PgAdvisoryLeaderLock]
) -> None:
    active, standby = locks
    assert active.try_acquire()
    # The database ends the active scheduler's session (a restart or a network cut would too).
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'tradepoint-scheduler%' AND pid <> "
                    "pg_backend_pid()"
                )
            )
    finally:
        engine.dispose()
    assert not active.held()
    assert standby.try_acquire()


def _wait_for(path, text_: str) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if text_ in path.read_text():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
def test_two_scheduler_processes_one_active_one_standby(pg_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def start(name: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [sys.executable, "-m", "search_api.cli", "scheduler", "--shutdown-grace", "5"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    first = start("first")
    second = None
    try:
        assert _wait_for(tmp_path / "first.log", "scheduler started")
        second = start("second")
        assert _wait_for(tmp_path / "second.log", "waiting as standby")
        assert f"pid {first.pid}" in (tmp_path / "second.log").read_text()
        first.send_signal(signal.SIGTERM)
        assert first.wait(DEADLINE) == 0
        assert _wait_for(tmp_path / "second.log", "scheduler started")
        second.send_signal(signal.SIGTERM)
        assert second.wait(DEADLINE) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(DEADLINE)
