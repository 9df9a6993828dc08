"""Embedded search backend on tantivy (this package is the only one importing `tantivy`).

On-disk layout (everything lives under `path`)::

    path/CURRENT             {"generation": "index-000003-9f2c1a", "schema_version": 7,
                              "glossary": "<digest of the glossary its concepts come from>"}
    path/index-000003-9f2c1a/  a tantivy index (meta.json, segments, lock files)

`CURRENT` names the live generation. `rebuild()` writes a complete new generation next to the
live one and then switches `CURRENT` with an atomic rename, so a process that is searching the
old generation keeps answering from it (its segment files stay mmapped even after the old
directory is removed) until it notices the pointer changed and reopens.

Concurrency model: one process (the API server) searches while another (crawl/reindex CLI)
writes. Tantivy allows one `IndexWriter` per index (a lock file), so no writer is held between
calls: every `index()`/`delete()` opens a small writer, commits, waits for merges and drops it.
`rebuild()` holds the live generation's writer lock for its whole run, so concurrent writers
wait (then fail with `SearchUnavailable`) instead of writing into a generation that is about
to be replaced. Readers use a manual reload policy: a background thread (started by the first
search) re-reads `CURRENT` (reopen on a swap) and stats `meta.json` (reload when another process
committed) every `WATCH_INTERVAL` seconds; a search does it itself only when that thread is
late, so no search sees a state older than `RELOAD_INTERVAL` seconds since the last check.

Warming: facet counts are what a fresh reader recomputes (the hits are searched every time),
~11 ms for a query matching 600k records. The thread prepares a new reader before publishing
it: the facets of the old reader's most recently used queries are counted on the new one first,
for up to `WARM_SECONDS` (searches meanwhile use the old reader), and the rest right after. A
write made by this process publishes at once (read-your-writes) and is warmed right after.
Both are 0 (off) by default: on two cores warming measured worse than none (see WARM_SECONDS).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import logging
import os
import secrets
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import orjson
import tantivy
from tantivy import Index, Order, Query

from search_api.domain import glossary
from search_api.domain.records import AnyRecord
from search_api.errors import SearchUnavailable
from search_api.search.base import (
    FacetValue,
    PackedFacets,
    SearchBackend,
    SearchQuery,
    SearchResult,
    pack_facets,
    text_groups,
    unpack_facets,
)
from search_api.search.tantivy.facets import facet_counts
from search_api.search.tantivy.query import build_query
from search_api.search.tantivy.schema import SCHEMA, SCHEMA_VERSION, TOKENIZERS, to_document
from search_api.settings import Settings

log = logging.getLogger(__name__)

POINTER_FILE = "CURRENT"
GEN_PREFIX = "index-"
REBUILD_LOCK = ".rebuild.lock"
REINDEX_HINT = "rebuild it from the system of record: tradepoint reindex"
RELOAD_INTERVAL = 0.5
"""Seconds between checks for commits / swaps made by another process."""
WATCH_INTERVAL = 0.25
"""Seconds between the background thread's checks for commits / swaps."""
FACET_CACHE_SIZE = 2048
"""Facet results kept per reader view, least recently used first out (~2 kB each)."""
# Off: measured at 1M records on two cores (bench/cold.py, 3 alternating rounds), warming
# made the first 1,000 searches after a change slower, p99 28.4 ms against 22.9 ms without, and
# the change visible 560-630 ms after the commit instead of 65-160 ms: the warming thread takes
# the core the searches need, and most facet counts it prepares are never asked again.
WARM_SECONDS = 0.0
"""Most time spent warming a new reader before publishing it (a change shows up this much later
at most; searches keep using the previous reader meanwhile)."""
WARM_MORE_SECONDS = 0.0
"""Most time spent warming it after publishing (the less popular queries, or all of them after
a write made by this process, which is published at once)."""

_FacetKey = tuple[Any, ...]


def _glossary() -> str:
    # records carry the concepts of the glossary they were indexed with (schema.py)
    return glossary.glossary().digest


def _expected_version() -> tuple[int, str | None]:
    return SCHEMA_VERSION, _glossary()


def _is_lock_busy(exc: BaseException) -> bool:
    return "LockBusy" in str(exc) or "index lock" in str(exc)


log = logging.getLogger(__name__)


class _LockTimeout(SearchUnavailable):
    """Another writer holds the index: busy, not damaged."""


_P = ParamSpec("_P")
_T = TypeVar("_T")


PARALLEL_FACETS = True
"""Count a search's facets on another thread while it collects its hits (bench/cold.py turns it
off to measure what it brings)."""


@functools.cache
def _facet_pool() -> ThreadPoolExecutor:
    """Threads counting facets beside the searches (one per core: more would only queue)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="facets")


def _is_panic(exc: BaseException) -> bool:
    # A Rust panic inside tantivy reaches Python as pyo3's PanicException, a BaseException
    # (so that `except Exception` does not swallow it) that no module exposes for import.
    return type(exc).__name__ == "PanicException"


def _boundary(method: Callable[_P, _T], *, retry: bool = True) -> Callable[_P, _T]:
    """Every public method: what tantivy raises (its errors, or a panic on damaged files)
    leaves as SearchUnavailable (503 with what to do), never as a 500.

    A call that failed on a reader opened earlier is tried once more on a freshly opened one:
    right after a `reindex` in another process, the reader of the damaged generation may still
    be the cached one for up to RELOAD_INTERVAL. Not `rebuild`: its records are an iterator,
    consumed by the first try."""

    def attempt(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(*args, **kwargs)
        except SearchUnavailable:
            raise
        except (OSError, ValueError, RuntimeError) as exc:
            raise SearchUnavailable(f"search index unreadable ({exc}); {REINDEX_HINT}") from exc
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            log.error("tantivy panicked in %s: %s", method.__name__, exc)
            raise SearchUnavailable(
                f"search index damaged (tantivy: {str(exc)[:200]}); {REINDEX_HINT}"
            ) from exc

    @functools.wraps(method)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        backend = args[0]
        assert isinstance(backend, TantivyBackend)
        was_cached = backend._gen is not None
        try:
            return attempt(*args, **kwargs)
        except _LockTimeout:
            raise  # busy, not damaged
        except SearchUnavailable:
            backend.close()  # the next call reads the pointer again at once
            if not (retry and was_cached):
                raise
        return attempt(*args, **kwargs)

    return guarded


@dataclass
class _View:
    """A searcher and what was computed on it; replaced as a whole on reload."""

    searcher: tantivy.Searcher
    # the index state it sees, named the same in every process (`SearchBackend.state`)
    token: str
    # facets of recent queries (terms aggregations over multi-valued fields cost ~15 ns per
    # matching doc; paging through results or reloading a landing page reuses them)
    # (the query is kept to count the same facets again on the next view: `_warm`)
    facets: OrderedDict[_FacetKey, tuple[Query, PackedFacets]] = dataclasses.field(
        default_factory=OrderedDict
    )
    # what callers derive from searches on this view (`SearchBackend.memo`)
    memo: dict[Any, Any] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def _token(directory: Path, meta_sig: tuple[int, int, int] | None) -> str:
    """The generation and its last commit: meta.json's opstamp (one more for each commit),
    with the file's inode, time and size in case it cannot be read."""
    try:
        opstamp = json.loads((directory / "meta.json").read_bytes()).get("opstamp")
    except (OSError, ValueError, AttributeError):
        opstamp = None
    return f"{directory.name}:{opstamp}:{'-'.join(map(str, meta_sig or ()))}"


@dataclass
class _Generation:
    name: str
    version: tuple[int, str | None]
    index: tantivy.Index
    view: _View
    meta_sig: tuple[int, int, int] | None
    checked_at: float


# Query fields that do not change which records match (`q` is keyed by its terms).
_FACETS_IGNORE = frozenset(
    {"q", "text", "sort", "page", "size", "facets", "asked_markets", "asked_origin"}
)


class TantivyBackend(SearchBackend):
    name = "tantivy"

    def __init__(
        self,
        path: Path,
        *,
        writer_heap: int = 50_000_000,
        writer_threads: int = 1,
        rebuild_heap: int = 200_000_000,
        rebuild_threads: int = 2,
        lock_timeout: float = 5.0,
    ) -> None:
        self.root = Path(path)
        self.writer_heap = writer_heap
        self.writer_threads = writer_threads
        self.rebuild_heap = rebuild_heap
        self.rebuild_threads = rebuild_threads
        self.lock_timeout = lock_timeout
        self._lock = threading.RLock()  # guards self._gen
        self._write_lock = threading.Lock()  # one writer per process at a time
        self._gen: _Generation | None = None
        # the queries of a replaced view not warmed yet on the new one (`_warm_pending`)
        self._pending: tuple[_View, list[tuple[_FacetKey, Query]]] | None = None
        self._watcher: threading.Thread | None = None
        self._wake = threading.Event()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SearchUnavailable(f"cannot create search index at {self.root}: {exc}") from exc
        try:
            if not self._pointer_path.exists():
                self._create_initial()
            self._open_checked()
        except (SearchUnavailable, OSError, ValueError, RuntimeError) as exc:
            # A damaged index is derived data: the server still starts, answers 503 meanwhile
            # and serves again once `reindex` rebuilt it, without a restart.
            log.warning("search index at %s unusable: %s", self.root, exc)
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            log.warning("search index at %s damaged (tantivy panicked: %s)", self.root, exc)

    # ------------------------------------------------------------------ generations / pointer

    @property
    def _pointer_path(self) -> Path:
        return self.root / POINTER_FILE

    def _read_pointer(self) -> tuple[str, tuple[int, str | None]] | None:
        try:
            data = json.loads(self._pointer_path.read_text(encoding="utf-8"))
            version = (int(data.get("schema_version", 0)), data.get("glossary"))
            return str(data["generation"]), version
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SearchUnavailable(
                f"unreadable index pointer {self._pointer_path}: {exc}; {REINDEX_HINT}"
            ) from exc

    def _pointer_tmp(self, gen_name: str) -> Path:
        tmp = self.root / f".{POINTER_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        payload = json.dumps(
            {"generation": gen_name, "schema_version": SCHEMA_VERSION, "glossary": _glossary()}
        )
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    def _new_gen_name(self, previous: str | None) -> str:
        seq = 0
        if previous and previous.startswith(GEN_PREFIX):
            with contextlib.suppress(ValueError):
                seq = int(previous[len(GEN_PREFIX) :].split("-")[0])
        return f"{GEN_PREFIX}{seq + 1:06d}-{secrets.token_hex(3)}"

    def _create_index(self, directory: Path) -> tantivy.Index:
        directory.mkdir(parents=True, exist_ok=False)
        index = Index(SCHEMA, path=str(directory), reuse=False)
        for tokenizer, analyzer in TOKENIZERS.items():
            index.register_tokenizer(tokenizer, analyzer)
        return index

    def _create_initial(self) -> None:
        name = self._new_gen_name(None)
        self._create_index(self.root / name)
        tmp = self._pointer_tmp(name)
        try:
            # link() fails if another process created the pointer first: theirs wins.
            os.link(tmp, self._pointer_path)
        except FileExistsError:
            shutil.rmtree(self.root / name, ignore_errors=True)
        finally:
            tmp.unlink(missing_ok=True)

    def _open_generation(self, name: str, version: tuple[int, str | None]) -> _Generation:
        directory = self.root / name
        meta_sig = self._meta_sig(directory)
        index = Index.open(str(directory))
        for tokenizer, analyzer in TOKENIZERS.items():
            index.register_tokenizer(tokenizer, analyzer)
        index.config_reader("manual")
        view = _View(index.searcher(), _token(directory, meta_sig))
        return _Generation(name, version, index, view, meta_sig, time.monotonic())

    def _open_checked(self) -> _Generation:
        gen = self._refresh(force=True)
        gen.view.searcher.num_docs  # noqa: B018 - opening the segments is what fails
        return gen

    @staticmethod
    def _meta_sig(directory: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(directory / "meta.json")
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self, force: bool = False, warm: float = 0.0) -> _Generation:
        """The live generation, reopened after a swap and reloaded after a commit elsewhere;
        a new view is warmed for up to `warm` seconds before it is published."""
        gen = self._gen
        if gen is not None and not force and time.monotonic() - gen.checked_at < RELOAD_INTERVAL:
            return gen
        with self._lock:
            last_exc: BaseException | None = None
            for _ in range(5):
                try:
                    return self._refresh_locked(warm)
                except SearchUnavailable:
                    raise
                except (OSError, ValueError, RuntimeError) as exc:
                    # typically: the generation we were opening was removed by a concurrent
                    # rebuild; read the pointer again
                    last_exc = exc
                    self._gen = None
                    time.sleep(0.05)
            raise SearchUnavailable(
                f"cannot open search index at {self.root}: {last_exc}; {REINDEX_HINT}"
            )

    def _refresh_locked(self, warm: float) -> _Generation:
        pointer = self._read_pointer()
        if pointer is None:
            raise SearchUnavailable(
                f"no search index at {self.root} (pointer file missing); {REINDEX_HINT}"
            )
        name, version = pointer
        gen = self._gen
        if gen is None or gen.name != name:
            new = self._open_generation(name, version)
            if gen is not None:
                self._carry_over(gen.view, new.view, warm)
            self._gen = new
            return new
        sig = self._meta_sig(self.root / name)
        if sig is None:
            raise OSError(f"generation {name} has no meta.json")
        if sig != gen.meta_sig:
            # searches keep using the old view (and do not check again) while this one warms
            gen.checked_at = time.monotonic()
            gen.index.reload()
            view = _View(gen.index.searcher(), _token(self.root / gen.name, sig))
            self._carry_over(gen.view, view, warm)
            gen.view = view
            gen.meta_sig = sig
        gen.checked_at = time.monotonic()
        return gen

    # ------------------------------------------------------------------ warming

    def _carry_over(self, old: _View, new: _View, seconds: float) -> None:
        """Count the facets of `old`'s queries on `new` (most recently used first) for up to
        `seconds`, and leave the rest to the background thread once `new` is published."""
        with old.lock:
            queries = [(key, tq) for key, (tq, _facets) in reversed(old.facets.items())]
        if not queries:
            return
        done = self._warm(new, queries, time.monotonic() + seconds) if seconds > 0 else 0
        if done < len(queries):
            self._pending = (new, queries[done:])
            self._start_watcher()
            self._wake.set()

    def _warm(
        self,
        view: _View,
        queries: list[tuple[_FacetKey, Query]],
        deadline: float,
        current: Callable[[], bool] = lambda: True,
    ) -> int:
        """Count facets on `view` for `queries`, hottest first, until the deadline or until
        `current()` says the view was replaced; returns how many were done."""
        done = 0
        for key, tq in queries:
            if time.monotonic() >= deadline or not current():
                break
            with view.lock:
                known = key in view.facets
            if not known:
                facets = pack_facets(facet_counts(view.searcher, tq))
                with view.lock:
                    view.facets[key] = (tq, facets)
                    # behind what searches have used on this view since, ahead of colder ones
                    view.facets.move_to_end(key, last=False)
                    while len(view.facets) > FACET_CACHE_SIZE:
                        view.facets.popitem(last=False)
            done += 1
        return done

    def _start_watcher(self) -> None:
        if self._watcher is not None:
            return
        with self._lock:
            if self._watcher is not None:
                return
            # a weak reference: the thread ends when the backend is dropped
            ref = weakref.ref(self)
            wake = self._wake
            thread = threading.Thread(
                target=_watch, args=(ref, wake), name="tantivy-reload", daemon=True
            )
            self._watcher = thread
            thread.start()

    def _watch_once(self) -> None:
        gen = self._gen
        if gen is None:
            return  # closed: reopened by the next call, not by this thread
        if time.monotonic() - gen.checked_at >= WATCH_INTERVAL:
            gen = self._refresh(force=True, warm=WARM_SECONDS)
        pending, self._pending = self._pending, None
        if pending is not None:
            view, queries = pending
            done = self._warm(
                view,
                queries,
                time.monotonic() + WARM_MORE_SECONDS,
                lambda: self._gen is not None and self._gen.view is view,
            )
            if done < len(queries):
                log.debug("warmed %d of %d queries on the new reader", done, len(queries))

    def _live(self, force: bool = False) -> _Generation:
        """The live generation, checked to have this code's schema (all but rebuild need it)."""
        gen = self._refresh(force)
        if gen.version != _expected_version():
            raise SearchUnavailable(
                f"search index at {self.root} was built with schema version {gen.version[0]} "
                f"and glossary {gen.version[1]}, this code needs {SCHEMA_VERSION} and "
                f"{_glossary()}; rebuild the index (reindex)"
            )
        return gen

    # ------------------------------------------------------------------ writing

    def _acquire_writer(self, index: tantivy.Index, heap: int, threads: int) -> Any:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return index.writer(heap_size=heap, num_threads=threads)
            except ValueError as exc:
                if not _is_lock_busy(exc):
                    raise SearchUnavailable(f"cannot open index writer: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise _LockTimeout(
                        f"search index at {self.root} is locked by another writer "
                        f"(a crawl or reindex running?); gave up after {self.lock_timeout:g}s"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    @staticmethod
    def _release_writer(writer: Any, commit: bool) -> None:
        """Commit (or roll back) and drop the writer's threads and lock deterministically."""
        try:
            if commit:
                writer.commit()
            else:
                with contextlib.suppress(Exception):
                    writer.rollback()
        finally:
            # consumes the writer: merges finish, the lock file is released
            with contextlib.suppress(Exception):
                writer.wait_merging_threads()

    def _write(self, apply: Callable[[Any], None]) -> None:
        with self._write_lock:
            for _ in range(5):
                gen = self._live(force=True)
                try:
                    writer = self._acquire_writer(gen.index, self.writer_heap, self.writer_threads)
                except SearchUnavailable:
                    raise
                except (OSError, RuntimeError) as exc:
                    raise SearchUnavailable(f"cannot open index writer: {exc}") from exc
                committed = False
                try:
                    pointer = self._read_pointer()
                    if pointer is None or pointer[0] != gen.name:
                        continue  # swapped by a rebuild while we waited for the lock
                    apply(writer)
                    self._release_writer(writer, commit=True)
                    committed = True
                except (OSError, ValueError, RuntimeError) as exc:
                    raise SearchUnavailable(
                        f"search index write failed: {exc}; if it persists, {REINDEX_HINT}"
                    ) from exc
                finally:
                    if not committed:
                        self._release_writer(writer, commit=False)
                    writer = None
                self._live(force=True)
                return
            raise SearchUnavailable("search index kept being swapped while writing; retry")

    @_boundary
    def index(self, records: Iterable[AnyRecord]) -> dict[str, str]:
        failed: dict[str, str] = {}
        if isinstance(records, Sequence) and not records:
            return failed

        def apply(writer: Any) -> None:
            # Each document built as it is added: the writer's indexing thread (Rust, no GIL)
            # indexes one while Python builds the next, instead of waiting for all of them
            # (~1.5-2 s of a 50k drain on two cores). So a record whose document cannot be
            # built fails here, under the writer: it is told apart from a failed index write.
            # Not collected into a list first: records the store decodes as they are
            # iterated die young (store.stored_records). Delete-then-add makes the last
            # version of a repeated id win (a delete covers the documents added before it).
            failed.clear()  # a retry (_boundary) iterates the records again
            for record in records:
                rid = record.id
                writer.delete_documents_by_term("id", rid)  # also the stale version of a failure
                doc = _document_or_none(record, failed)
                if doc is not None:
                    writer.add_document(doc)
                    failed.pop(rid, None)  # an earlier version of it failed

        self._write(apply)
        return failed

    @_boundary
    def delete(self, ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return

        def apply(writer: Any) -> None:
            for rid in unique:
                writer.delete_documents_by_term("id", rid)

        self._write(apply)

    @functools.partial(_boundary, retry=False)
    def rebuild(self, records: Iterable[AnyRecord]) -> int:
        with self._write_lock, self._rebuild_lock():
            for _ in range(5):
                try:
                    old = self._refresh(force=True)
                    # Hold the live generation's writer lock for the whole rebuild: other
                    # writers wait or fail loudly instead of writing into a generation about
                    # to be dropped.
                    guard = self._acquire_writer(old.index, 15_000_000, 1)
                except _LockTimeout:
                    raise
                except SearchUnavailable as exc:
                    return self._rebuild_damaged(records, exc)
                except BaseException as exc:
                    if not _is_panic(exc):
                        raise
                    return self._rebuild_damaged(records, exc)
                try:
                    pointer = self._read_pointer()
                    if pointer is None or pointer[0] != old.name:
                        continue  # another process swapped meanwhile; lock the new one
                    self._remove_stale_generations(keep={old.name})
                    new_name = self._build_generation(records, old.name)
                    tmp = self._pointer_tmp(new_name)
                    os.replace(tmp, self._pointer_path)  # the atomic swap
                finally:
                    self._release_writer(guard, commit=False)
                    guard = None
                gen = self._refresh(force=True)
                shutil.rmtree(self.root / old.name, ignore_errors=True)
                return gen.view.searcher.num_docs
            raise SearchUnavailable("search index kept being swapped while rebuilding; retry")

    @contextlib.contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        """One rebuild at a time on this host, also when the index is too damaged to hold its
        writer lock (the lock file lives beside the generations, never inside one)."""
        with open(self.root / REBUILD_LOCK, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _rebuild_damaged(self, records: Iterable[AnyRecord], why: BaseException) -> int:
        """The live generation cannot be opened (garbage pointer or meta.json, a missing or
        scrambled generation): build a new one and point at it, then drop everything else.
        Nothing of the old state is needed: the index is derived from the system of record."""
        log.warning("search index at %s is damaged (%s); building a new one", self.root, why)
        with self._lock:
            self._gen = None
        existing = sorted(
            child.name
            for child in self.root.iterdir()
            if child.is_dir() and child.name.startswith(GEN_PREFIX)
        )
        new_name = self._build_generation(records, existing[-1] if existing else None)
        tmp = self._pointer_tmp(new_name)
        if self._pointer_path.is_dir() and not self._pointer_path.is_symlink():
            shutil.rmtree(self._pointer_path)
        os.replace(tmp, self._pointer_path)
        self._remove_stale_generations(keep={new_name})
        return self._open_checked().view.searcher.num_docs

    def _build_generation(self, records: Iterable[AnyRecord], previous: str | None) -> str:
        name = self._new_gen_name(previous)
        directory = self.root / name
        writer = None
        try:
            index = self._create_index(directory)
            writer = index.writer(heap_size=self.rebuild_heap, num_threads=self.rebuild_threads)
            failed: dict[str, str] = {}
            for record in records:
                # delete-then-add keeps ids unique even if `records` repeats one
                writer.delete_documents_by_term("id", record.id)
                doc = _document_or_none(record, failed)
                if doc is not None:
                    writer.add_document(doc)
            w, writer = writer, None
            self._release_writer(w, commit=True)
        except BaseException as exc:
            if writer is not None:
                self._release_writer(writer, commit=False)
            shutil.rmtree(directory, ignore_errors=True)
            if isinstance(exc, (OSError, ValueError, RuntimeError)):
                raise SearchUnavailable(f"search index rebuild failed: {exc}") from exc
            raise
        return name

    def _remove_stale_generations(self, keep: set[str]) -> None:
        """Leftovers of crashed rebuilds. Only called while holding the live writer lock, when
        no other rebuild can be running."""
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith(GEN_PREFIX) and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
        for tmp in self.root.glob(f".{POINTER_FILE}.*.tmp"):
            with contextlib.suppress(OSError):
                if time.time() - tmp.stat().st_mtime > 60:
                    tmp.unlink()

    # ------------------------------------------------------------------ searching

    @_boundary
    def search(self, query: SearchQuery) -> SearchResult:
        self._start_watcher()
        gen = self._live()
        view = gen.view
        searcher = view.searcher
        try:
            tq, has_text = build_query(query)
            sort = query.sort
            if sort == "relevance" and not has_text:
                sort = "date"
            kwargs: dict[str, Any] = {}
            if sort == "date":
                kwargs = {"order_by_field": "sort_asc", "order": Order.Asc}
            elif sort == "-date":
                kwargs = {"order_by_field": "sort_desc", "order": Order.Desc}
            offset = query.offset
            fetch = query.size > 0 and offset < searcher.num_docs
            key = self._facet_key(query) if query.facets else None
            kept = self._kept_facets(view, key) if key is not None else {}
            counting: Future[dict[str, list[FacetValue]]] | None = None
            if kept is None and PARALLEL_FACETS:
                # tantivy lets go of the GIL: the facets are counted on another core while
                # this thread collects the hits (each pass reads every match: a query that
                # matches half of a large index costs about as much for either)
                counting = _facet_pool().submit(facet_counts, searcher, tq)
            try:
                # tantivy panics on limit=0: for a count-only request collect one hit and
                # drop it
                result = searcher.search(
                    tq,
                    limit=query.size if fetch else 1,
                    count=True,
                    offset=offset if fetch else 0,
                    **kwargs,
                )
                items: list[dict[str, Any]] = []
                if fetch:
                    for _key, address in result.hits:
                        items.append(orjson.loads(searcher.doc(address).get_first("doc") or b"{}"))
            except BaseException:
                if counting is not None:
                    counting.cancel()  # or let it finish: nobody waits for it
                raise
            if kept is None and key is not None:
                counted = counting.result() if counting else facet_counts(searcher, tq)
                facets = self._keep_facets(view, key, tq, counted)
            else:
                facets = kept or {}
        except (OSError, ValueError, RuntimeError) as exc:
            raise SearchUnavailable(
                f"search failed: {exc}; if it persists, {REINDEX_HINT}"
            ) from exc
        return SearchResult(total=getattr(result, "count", None) or 0, items=items, facets=facets)

    @staticmethod
    def _facet_key(query: SearchQuery) -> tuple[Any, ...]:
        # Every field of the query that selects records, so that no filter added later can be
        # forgotten here (one was: `languages` got the facets of the search without it).
        return (
            text_groups(query),
            *(
                tuple(sorted(value)) if isinstance(value, tuple) else value
                for name in type(query).model_fields
                if name not in _FACETS_IGNORE
                for value in (getattr(query, name),)
            ),
        )

    @staticmethod
    def _kept_facets(view: _View, key: tuple[Any, ...]) -> dict[str, list[FacetValue]] | None:
        with view.lock:
            entry = view.facets.get(key)
            if entry is None:
                return None
            view.facets.move_to_end(key)
        return unpack_facets(entry[1])

    @staticmethod
    def _keep_facets(
        view: _View, key: tuple[Any, ...], tq: Query, facets: dict[str, list[FacetValue]]
    ) -> dict[str, list[FacetValue]]:
        packed = pack_facets(facets)
        with view.lock:
            view.facets[key] = (tq, packed)
            while len(view.facets) > FACET_CACHE_SIZE:
                view.facets.popitem(last=False)
        return facets

    # ------------------------------------------------------------------ misc

    @_boundary
    def count(self) -> int:
        return self._live().view.searcher.num_docs

    def needs_rebuild(self) -> bool:
        try:
            return self._refresh().version != _expected_version()
        except (SearchUnavailable, OSError, ValueError, RuntimeError):
            return False  # damaged: searches say so, and `reindex` rebuilds it anyway
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            return False

    def _view_or_none(self) -> _View | None:
        """The live view, or None when the index cannot be read (the search itself will say
        what is wrong)."""
        try:
            return self._live().view
        except BaseException as exc:
            if isinstance(exc, (SearchUnavailable, OSError, ValueError, RuntimeError)) or (
                _is_panic(exc)
            ):
                return None
            raise

    def memo(self) -> dict[Any, Any] | None:
        view = self._view_or_none()
        return view.memo if view is not None else None

    def state(self) -> str | None:
        view = self._view_or_none()
        return view.token if view is not None else None

    def ping(self) -> bool:
        try:
            # One real search, sorted and its document read: it touches the fast fields and
            # the doc store, where damaged files show (a count alone reads neither).
            searcher = self._live().view.searcher
            if searcher.num_docs:
                hits = searcher.search(
                    Query.all_query(), limit=1, order_by_field="sort_asc", order=Order.Asc
                ).hits
                for _score, address in hits:
                    searcher.doc(address)
        except BaseException as exc:
            if isinstance(exc, Exception) or _is_panic(exc):
                return False
            raise
        return True

    def close(self) -> None:
        """Drop the reader; a later call reopens lazily."""
        with self._lock:
            self._gen = None


def _document_or_none(record: AnyRecord, failed: dict[str, str]) -> tantivy.Document | None:
    """`record`'s document, or None with why in `failed` (and the log): a record that cannot
    be indexed is reported and skipped, never taken for a failure of the index."""
    try:
        return to_document(record)
    except Exception as exc:  # whatever it is, it is this record's: the others go on
        why = f"record {record.id!r} could not be indexed: {type(exc).__name__}: {exc}"
        failed[record.id] = why[:1000]
        log.warning("%s", why[:1000])
        return None


def _watch(ref: weakref.ReferenceType[TantivyBackend], wake: threading.Event) -> None:
    """The background thread: picks up changes and warms new readers (module-level, holding
    the backend only while it works, so that dropping the backend ends it)."""
    while True:
        wake.wait(WATCH_INTERVAL)
        wake.clear()
        backend = ref()
        if backend is None:
            return
        try:
            backend._watch_once()
        except Exception as exc:  # a search will say what is wrong; keep watching
            log.debug("index watcher: %s", exc)
        del backend


def create(settings: Settings) -> TantivyBackend:
    return TantivyBackend(settings.index_dir)
