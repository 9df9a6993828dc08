"""A PostgreSQL server for tests, started once per test session; each test gets its own database.

With `TRADEPOINT_DATABASE_URL` set to a PostgreSQL URL when the tests start, that server is
used (its user needs CREATEDB): every test creates and drops its own `tp_test_*` database
there and never touches the named one. Otherwise a throwaway cluster is made with `initdb`
in a temp dir and `postgres` runs on a free loopback port, as a child of the test process
(it dies with it). PostgreSQL refuses to run as root, so as root both run as the `postgres`
OS user (Debian's `postgresql` package creates it). When no server can be had, tests that
need one skip with the reason.

The cluster trades durability for speed (fsync off): it is deleted at the end anyway. Its
collation is C.UTF-8, so text sorts by code point, as in Python.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.net import free_port

START_TIMEOUT = 60.0
# read once at import (collection time): the `settings` fixture removes it from the
# environment of the tests themselves
_ENV_URL = os.environ.get("TRADEPOINT_DATABASE_URL", "")
_ENV_SERVER = _ENV_URL if _ENV_URL.startswith("postgresql") else ""


@dataclass
class _Server:
    admin_url: str | None = None
    error: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    root: Path | None = None


_server = _Server()


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    # Debian keeps the server programs out of PATH, one directory per major version.
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _as_user(uid: int | None, gid: int | None) -> Callable[[], None]:
    def prepare() -> None:  # pragma: no cover - runs in the child before exec
        if uid is not None and gid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        # After the uid change (which clears it): if pytest is killed outright, atexit never
        # runs; let the kernel stop the server (SIGINT: PostgreSQL's fast shutdown).
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG

    return prepare


def _start() -> None:
    bin_dir = _bin_dir()
    if bin_dir is None:
        _server.error = "PostgreSQL is not installed (apt-get install postgresql)"
        return
    uid = gid = None
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            _server.error = "running as root and there is no `postgres` user to run PostgreSQL"
            return
        uid, gid = pw.pw_uid, pw.pw_gid
    root = Path(tempfile.mkdtemp(prefix="tp-pg-"))
    _server.root = root
    atexit.register(stop)
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    password = secrets.token_hex(16)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if uid is not None and gid is not None:
        os.chown(pwfile, uid, gid)
    data = root / "data"
    init = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        capture_output=True,
        preexec_fn=_as_user(uid, gid),
        timeout=START_TIMEOUT,
    )
    if init.returncode != 0:
        out = (init.stdout + init.stderr).decode(errors="replace")[-2000:]
        _server.error = f"initdb failed ({init.returncode}): {out}"
        return
    port = free_port()
    log_path = root / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    try:
        _server.proc = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=32MB",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_as_user(uid, gid),
        )
    except OSError as exc:
        _server.error = f"postgres could not be started: {exc}"
        return
    finally:
        log.close()
    url = f"postgresql+psycopg://postgres:{password}@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _server.proc.poll() is not None:
            break
        if _answers(url):
            _server.admin_url = url
            return
        time.sleep(0.1)
    code = _server.proc.poll()
    output = log_path.read_text(errors="replace")[-2000:]
    stop()
    why = f"exited with code {code}" if code is not None else f"did not answer in {START_TIMEOUT}s"
    _server.error = f"postgres on port {port} {why}: {output}"


def _connect(url: str):  # -> psycopg.Connection
    import psycopg

    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True, connect_timeout=5)


def _answers(url: str) -> bool:
    try:
        with _connect(url) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def admin_url() -> str:
    """URL of a database with CREATEDB rights on the session's server; raises pytest's Skipped
    (with the reason) when there is none."""
    import pytest

    if _ENV_SERVER:
        return _ENV_SERVER
    if _server.admin_url is None and _server.error is None:
        _start()
    if _server.admin_url is None:
        pytest.skip(_server.error or "PostgreSQL unavailable")
    return _server.admin_url


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database() -> str:
    """A new empty database on the session's server; returns its SQLAlchemy URL."""
    admin = admin_url()
    name = f"tp_test_{uuid.uuid4().hex[:12]}"
    with _connect(admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(admin, name)


def drop_database(url: str) -> None:
    """Drop a database made by `create_database`, disconnecting whoever is still on it."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    assert name and name.startswith("tp_test_"), name
    with contextlib.suppress(Exception), _connect(admin_url()) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database() -> Iterator[str]:
    """Fixture body: a database for one test, dropped afterwards."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


def stop() -> None:
    proc = _server.proc
    if proc is not None and proc.poll() is None:
        # our own child (start_new_session): the postmaster, which stops its backends
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    _server.proc = None
    _server.admin_url = None
    if _server.root is not None:
        shutil.rmtree(_server.root, ignore_errors=True)
        _server.root = None
