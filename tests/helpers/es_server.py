"""An Elasticsearch-compatible server for tests, started once per test session.

With `TRADEPOINT_ELASTICSEARCH_URL` set, tests use that server (a real Elasticsearch 8) and
start nothing. Otherwise `noida-db` (PyPI, dev extra) runs on a free loopback port: a small
server imitating the Elasticsearch 8.15 HTTP API. It prints a harmless GLIBC warning on
stderr. When it cannot start, tests that need it skip with the reason.

Known noida-db differences from Elasticsearch 8.15, none of which the backend relies on:
- a bulk answer has `"errors": true` when a delete found nothing (Elasticsearch: false); the
  backend reads each item's `error` instead;
- `_aliases` with a `remove` of a missing alias and no `must_exist` applies the other actions
  and reports the failed one; the backend's swap always sets `must_exist`, with which noida-db
  and Elasticsearch both refuse the whole call (tested in test_es_backend.py).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from importlib import resources
from pathlib import Path

from tests.helpers.net import free_port

START_TIMEOUT = 60.0
ENV_URL = "TRADEPOINT_ELASTICSEARCH_URL"
# read once at import (collection time): the `settings` fixture removes it from the
# environment of the tests themselves
_ENV_SERVER = os.environ.get(ENV_URL)


class _Server:
    def __init__(self) -> None:
        self.url: str | None = None
        self.error: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.data_dir: Path | None = None
        self.log_path: Path | None = None


_server = _Server()


def _binary() -> list[str] | None:
    # The `noida-db` console script is a Python wrapper that does not pass signals on to the
    # server it spawns; run the bundled server binary itself so stopping it stops the server.
    with contextlib.suppress(ModuleNotFoundError, FileNotFoundError, TypeError):
        path = Path(str(resources.files("noida_db").joinpath("noida-db")))
        if path.is_file():
            if not os.access(path, os.X_OK):
                path.chmod(0o755)
            return [str(path)]
    script = shutil.which("noida-db")
    return [script] if script else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # If pytest is killed outright, atexit never runs: let the kernel stop the server.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _start() -> None:
    cmd = _binary()
    if cmd is None:
        _server.error = "noida-db is not installed (pip install -e '.[dev]')"
        return
    port = free_port()
    _server.data_dir = Path(tempfile.mkdtemp(prefix="tp-noida-"))
    _server.log_path = _server.data_dir / "server.log"
    args = [
        *cmd,
        "start",
        "--only",
        "elasticsearch",
        "--elasticsearch-port",
        str(port),
        "--data-dir",
        str(_server.data_dir / "data"),
    ]
    log = open(_server.log_path, "wb")  # noqa: SIM115 - lives as long as the server
    try:
        _server.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except OSError as exc:
        _server.error = f"noida-db could not be started: {exc}"
        return
    finally:
        log.close()
    atexit.register(stop)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _server.proc.poll() is not None:
            break
        if _answers(url):
            _server.url = url
            return
        time.sleep(0.1)
    code = _server.proc.poll()
    output = _server.log_path.read_text(errors="replace")[-2000:]
    stop()
    why = (
        f"exited with code {code}" if code is not None else f"did not answer in {START_TIMEOUT:g}s"
    )
    _server.error = f"noida-db on {url} {why}: {output}"


def server_url() -> str:
    """URL of the session's Elasticsearch-compatible server; raises pytest's Skipped (with the
    reason) when none can be had."""
    import pytest

    if _ENV_SERVER:
        return _ENV_SERVER.rstrip("/")
    if _server.url is None and _server.error is None:
        _start()
    if _server.url is None:
        pytest.skip(_server.error or "noida-db unavailable")
    return _server.url


def unique_prefix() -> str:
    """An index prefix no other test (or deployment on a shared server) uses."""
    return f"tp-test-{uuid.uuid4().hex[:10]}"


def drop_indices(url: str, prefix: str) -> None:
    """Delete every index named `{prefix}-*` (by name: wildcard deletes are refused)."""
    from elasticsearch import Elasticsearch

    with contextlib.suppress(Exception), Elasticsearch(url, request_timeout=10) as es:
        names = list(es.indices.get_alias(index=f"{prefix}-*").body)
        if names:
            es.indices.delete(index=",".join(names))


def stop() -> None:
    proc = _server.proc
    if proc is not None and proc.poll() is None:
        # our own child's process group (start_new_session): the server and nothing else
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    _server.proc = None
    _server.url = None
    if _server.data_dir is not None:
        shutil.rmtree(_server.data_dir, ignore_errors=True)
        _server.data_dir = None


def fresh_backend(**kwargs: object):  # -> ElasticBackend (imported lazily: optional dependency)
    """A backend on the session's server with its own index prefix; `close()` drops its
    indices."""
    from search_api.search.elastic import ElasticBackend

    url = server_url()

    class _Disposable(ElasticBackend):
        def close(self) -> None:
            drop_indices(url, self.prefix)
            super().close()

    return _Disposable(url, prefix=unique_prefix(), **kwargs)  # type: ignore[arg-type]
