"""Answers and rendered pages shared by the processes that serve one index (the API's uvicorn
workers), kept under the name of the index state they were made from.

Each worker keeps what it made in its own memory (search/cache.py), but a page one worker has
made is still new to the other: with two workers every popular page was made twice after each
change of the index, and a first ask (20-45 ms of searches and rendering at 1M records) holds
up the requests queued behind it. Here a worker that misses its own memory looks for what
another has made before making it.

The state name (`SearchBackend.state`) changes with every commit, so nothing made before a
change is served after it: a process that sees a new state drops the rows of the others. The
file is a cache: SQLite (the standard library's, no server), written without waiting for the
disk, and every failure (a busy or broken file) falls back to making the answer, with one log
line. Bounded in rows; the oldest go first.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from search_api.search.base import SearchBackend

log = logging.getLogger(__name__)

SHARED_ANSWERS_FILE = "shared-answers.sqlite"
"""In the data directory."""
MAX_ROWS = 4096
"""Answers and pages kept in the file (a market page is ~20 kB: ~80 MB at most)."""
TRIM_EVERY = 256
"""Writes between two trims of the oldest rows beyond MAX_ROWS."""
RETRY_AFTER = 60.0
"""Seconds a process leaves a failing file alone before trying it again."""
BUSY_TIMEOUT = 0.05
"""Seconds a write waits for another process's: past that, the answer is simply not shared."""


class SharedAnswers:
    """Bytes by (state, key), in one SQLite file for every process of this machine."""

    def __init__(self, path: Path, code: str = "", max_rows: int = MAX_ROWS) -> None:
        """`code` names what makes the answers (`code_fingerprint`): processes of another
        version of the code, during a rolling restart, neither serve nor drop each other's."""
        self.path = path
        self.code = code
        self.max_rows = max_rows
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writes = 0
        self._cleared_for: str | None = None
        self._failing_until = 0.0

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS kept (state TEXT NOT NULL, key TEXT NOT NULL, "
                "value BLOB NOT NULL, UNIQUE (state, key))"
            )
            self._local.conn = conn
        return conn

    def _failed(self, exc: sqlite3.Error) -> None:
        self._failing_until = time.monotonic() + RETRY_AFTER
        self._local.conn = None
        log.warning("shared answers at %s unusable for %.0f s: %s", self.path, RETRY_AFTER, exc)

    def get(self, state: str, key: str) -> bytes | None:
        if time.monotonic() < self._failing_until:
            return None
        state = f"{self.code}|{state}"
        try:
            row = (
                self._connection()
                .execute("SELECT value FROM kept WHERE state = ? AND key = ?", (state, key))
                .fetchone()
            )
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        return bytes(row[0]) if row else None

    def put(self, state: str, key: str, value: bytes) -> None:
        if time.monotonic() < self._failing_until:
            return
        state = f"{self.code}|{state}"
        with self._lock:
            self._writes += 1
            trim = self._writes % TRIM_EVERY == 0
            clear = self._cleared_for != state
            self._cleared_for = state
        try:
            conn = self._connection()
            if clear:  # a new state: what was made from the others is never served again
                conn.execute(
                    "DELETE FROM kept WHERE state != ? AND state LIKE ? ESCAPE '\\'",
                    (state, _like_prefix(self.code) + "|%"),
                )
            conn.execute(
                "INSERT OR IGNORE INTO kept (state, key, value) VALUES (?, ?, ?)",
                (state, key, value),
            )
            if trim:
                conn.execute(
                    "DELETE FROM kept WHERE rowid <= (SELECT max(rowid) FROM kept) - ?",
                    (self.max_rows,),
                )
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return  # another process is writing: this answer is just not shared
            self._failed(exc)
        except sqlite3.Error as exc:
            self._failed(exc)

    def fetch(self, state: str | None, key: tuple[object, ...], make: Callable[[], bytes]) -> bytes:
        """What another process made for `key` on this index state, else `make()` (shared
        for the others). Without a state name, `make()` alone."""
        if state is None:
            return make()
        name = "\x1f".join(map(str, key))
        found = self.get(state, name)
        if found is None:
            found = make()
            self.put(state, name, found)
        return found


def fetch_shared(
    shared: SharedAnswers | None,
    backend: SearchBackend,
    key: tuple[object, ...],
    make: Callable[[], bytes],
) -> bytes:
    """What a worker made for `key` on the backend's current index state, or `make()`, shared
    with the other workers (`make()` alone when sharing is off)."""
    if shared is None:
        return make()
    return shared.fetch(backend.state(), key, make)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@functools.cache
def code_fingerprint(*roots: Path) -> str:
    """A name for the code and templates under `roots`: their files' paths, sizes and times
    (read once per process: the code a process runs does not change under it)."""
    digest = hashlib.blake2b(digest_size=8)
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".mo", ".yml", ".yaml", ".json"}:
                st = path.stat()
                digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()
