"""`tradepoint scheduler`, registered into the CLI via an entry point.

Only one scheduler may be active per system of record: several API processes are fine, but two
schedulers would crawl every source twice. The first to take the leader lock runs; any other
waits as a standby and takes over when the active one stops.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import socket
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from search_api.settings import Settings

log = logging.getLogger(__name__)

STANDBY_POLL_SECONDS = 2.0
# How often (in seconds) the active scheduler checks that it still holds the leader lock.
LOCK_CHECK_SECONDS = 10
LOCK_FILE = "scheduler.lock"


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...
    def holder(self) -> str: ...
    def release(self) -> None: ...
    def held(self) -> bool: ...


class FileLeaderLock:
    """An exclusive `flock` on a file in DATA_DIR; the kernel drops it when the process dies,
    so a crashed scheduler never leaves a stale lock behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid else "unknown process"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def held(self) -> bool:
        return self._fd is not None


# pg_try_advisory_lock key of the scheduler election ("tpschedu" as a number); the key space
# is per database, so schedulers of different databases on one server do not interfere.
SCHEDULER_LOCK_KEY = 0x7470_7363_6865_6475


class PgAdvisoryLeaderLock:
    """A session-level PostgreSQL advisory lock, held on a dedicated connection for as long as
    the scheduler runs. The server drops it when that connection ends, whether the scheduler
    stopped, crashed or lost the network, so a standby on any host can take over; `held()`
    notices a lost connection, after which the scheduler must stop running jobs."""

    def __init__(self, url: str, key: int = SCHEDULER_LOCK_KEY) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.key = key
        name = f"tradepoint-scheduler {socket.gethostname()} pid {os.getpid()}"
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            # Named, so `holder()` can tell an operator which scheduler is active; keepalives
            # so that a vanished peer is noticed by the server, which then frees the lock.
            connect_args={
                "application_name": name[:63],
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            },
        )
        self._conn: Any = None

    def try_acquire(self) -> bool:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        if self._conn is not None:
            return True
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError as exc:
            # The database is unreachable: stay a standby and try again at the next poll.
            log.warning("scheduler lock: cannot connect: %s", exc.orig)
            return False
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        except DBAPIError as exc:
            log.warning("scheduler lock: %s", exc.orig)
            got = False
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def holder(self) -> str:
        from sqlalchemy import text

        hi, lo = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        try:
            with self._engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l "
                        "JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                        "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
                    ),
                    {"hi": hi, "lo": lo},
                ).first()
        except Exception:
            return "unknown process"
        if row is None:
            return "unknown process"
        name, addr, pid = row
        return f"{name or 'unnamed'} from {addr or 'local socket'} (server pid {pid})"

    def held(self) -> bool:
        from sqlalchemy import text

        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            # The session, and with it the lock, is gone; another scheduler may be active.
            self._conn = None
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            # Closing the session frees the lock; unlocking first is merely explicit.
            try:
                from sqlalchemy import text

                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except Exception:
                pass
            finally:
                self._conn.close()
                self._conn = None
        self._engine.dispose()


def leader_lock(settings: Settings) -> LeaderLock:
    """The lock that elects the one active scheduler.

    On PostgreSQL the schedulers may run on different hosts: an advisory lock in the database.
    Otherwise a lock file in DATA_DIR, which guards schedulers sharing that directory.
    """
    if settings.sqlalchemy_url.startswith("postgresql"):
        return PgAdvisoryLeaderLock(settings.sqlalchemy_url)
    if not settings.sqlalchemy_url.startswith("sqlite"):
        log.warning(
            "leader election uses a lock file in %s: it only guards schedulers on this host",
            settings.data_dir,
        )
    return FileLeaderLock(settings.data_dir / LOCK_FILE)


def wait_for_leadership(
    lock: LeaderLock, stop: threading.Event, poll: float = STANDBY_POLL_SECONDS
) -> bool:
    """Take the lock, waiting as a standby while another scheduler holds it. False if stopped."""
    if lock.try_acquire():
        return True
    print(f"another scheduler is active ({lock.holder()}); waiting as standby", flush=True)
    while not stop.wait(poll):
        if lock.try_acquire():
            print("the active scheduler is gone; taking over", flush=True)
            return True
    return False


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scheduler", help="run scheduled crawls and digests (one active scheduler at a time)"
    )
    p.add_argument(
        "--shutdown-grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long running crawls may go on before they are marked "
        "interrupted (default 60)",
    )
    p.set_defaults(handler=cmd_scheduler)


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from schedules.service import SchedulerService
    from search_api.cli.common import open_store

    stop, hurry = threading.Event(), threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # A second signal cuts the grace period short.
        if stop.is_set():
            hurry.set()
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    lock = leader_lock(settings)
    if not wait_for_leadership(lock, stop):
        print("standby scheduler stopped", flush=True)
        return 0
    try:
        service = SchedulerService(settings, store=open_store(settings))
        plan = service.start()
        for source_id, message in plan.invalid.items():
            print(f"warning: source {source_id} not scheduled: {message}", flush=True)
        jobs = service.jobs()
        print(f"scheduler started (pid {os.getpid()}), {len(jobs)} jobs:", flush=True)
        for job in jobs:
            when = f"{job.next_run_time:%Y-%m-%d %H:%M} UTC" if job.next_run_time else "paused"
            print(f"  {job.id:50} next {when}", flush=True)
        # A timed wait keeps the main thread responsive to signals.
        ticks, code = 0, 0
        while not stop.wait(1.0):
            ticks += 1
            if ticks % LOCK_CHECK_SECONDS == 0 and not lock.held():
                # Another scheduler may take over now: stop, rather than run jobs twice.
                print("lost the scheduler lock (database connection gone); stopping", flush=True)
                stop.set()
                code = 1
        print(f"stopping: running crawls may finish within {args.shutdown_grace:g}s", flush=True)
        interrupted = service.stop(args.shutdown_grace, hurry)
        if interrupted:
            print(f"marked interrupted: runs {', '.join(map(str, interrupted))}", flush=True)
        print("scheduler stopped", flush=True)
    finally:
        lock.release()
    return code
