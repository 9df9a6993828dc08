"""Search answers kept until the index changes, with their ETag and gzip computed once.

Popular searches (a market's fairs, a product's rules) repeat far more often than the index
changes, and a search costs 10-50x the framework's own work per request. Answers live in the
backend's memo, which the backend replaces whenever a change becomes visible, so an answer is
never staler than a fresh search would be.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from search_api.search.base import SearchBackend, SearchQuery, SearchResult

T = TypeVar("T")

_MEMO_KEY = "search-answers"
GZIP_MIN_BYTES = 1000
"""Smaller answers are sent as they are (as the app's GZipMiddleware does)."""
MAX_BYTES = 64 * 1024 * 1024
"""Bytes of answers kept per process; a page of 100 long items is ~200 kB."""

CacheKey = tuple[str, bytes, int, str]
"""Path, raw query string, day, answer language."""


@dataclass(slots=True)
class Answer:
    body: bytes
    etag: str
    _gzipped: bytes | None = None

    @classmethod
    def of(cls, body: bytes, language: str = "") -> Answer:
        """An answer and its ETag, which names the answer's language as well as its body: an
        answer with no sentence to translate is the same bytes in English and French, but
        not the same representation (Content-Language differs)."""
        digest = hashlib.blake2b(body, digest_size=12).hexdigest()
        return cls(body, f'"{digest}-{language}"' if language else f'"{digest}"')

    def gzipped(self) -> bytes:
        """The body gzip-compressed, once per answer rather than once per request."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped

    def matches(self, if_none_match: str) -> bool:
        return self.etag in if_none_match or if_none_match.strip() == "*"


class AnswerCache:
    """Answers by request, least recently used out first, bounded in number and in bytes."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[CacheKey, Answer] = OrderedDict()
        self._bytes = 0

    def get(self, key: CacheKey) -> Answer | None:
        answer = self._items.get(key)
        if answer is not None:
            self._items.move_to_end(key)
        return answer

    def put(self, key: CacheKey, answer: Answer) -> None:
        if key in self._items:
            return
        self._items[key] = answer
        self._bytes += len(answer.body)
        while self._items and (len(self._items) > self.max_items or self._bytes > MAX_BYTES):
            _, old = self._items.popitem(last=False)
            self._bytes -= len(old.body)


def answer_cache(backend: SearchBackend, max_items: int) -> AnswerCache | None:
    """The answers kept for the backend's current index state; None when caching is off."""
    if max_items <= 0:
        return None
    memo: dict[str, Any] | None = backend.memo()
    if memo is None:
        return None
    cache = memo.get(_MEMO_KEY)
    if cache is None:
        cache = memo.setdefault(_MEMO_KEY, AnswerCache(max_items))
    return cache


_RESULTS_KEY = "search-results"
MAX_RESULTS = 4096
"""Search results a process keeps per index state (each at most a page of parsed items)."""
MAX_RESULT_ITEMS = 20_000
"""Items, summed over the results kept (~2 kB each parsed: ~40 MB at most per process)."""


class ResultMemo:
    """Search results by query, least recently used out first. Shared by the threads that
    serve pages, hence the lock (an OrderedDict moved in two threads at once can lose keys)."""

    def __init__(self, max_results: int = MAX_RESULTS, max_items: int = MAX_RESULT_ITEMS) -> None:
        self.max_results = max_results
        self.max_items = max_items
        self._results: OrderedDict[str, SearchResult] = OrderedDict()
        self._items = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> SearchResult | None:
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
            return found

    def put(self, key: str, result: SearchResult) -> None:
        with self._lock:
            if key in self._results:
                return
            self._results[key] = result
            self._items += len(result.items)
            while self._results and (
                len(self._results) > self.max_results or self._items > self.max_items
            ):
                _, old = self._results.popitem(last=False)
                self._items -= len(old.items)


def memo_search(backend: SearchBackend, query: SearchQuery) -> SearchResult:
    """`backend.search(query)`, answered from the results kept for the current index state
    when the same query was asked since the index last changed.

    A page built of several searches (a market page: the market's fairs, its rules for a
    product, the finance open to an origin) shares most of them with other pages: the fairs
    of Germany are the same whatever the product. Items are handed out as shallow copies, so
    a caller may add keys to them (why an item matched) but must not change nested values."""
    memo: dict[str, Any] | None = backend.memo()
    if memo is None:
        return backend.search(query)
    kept = memo.get(_RESULTS_KEY)
    if kept is None:
        kept = memo.setdefault(_RESULTS_KEY, ResultMemo())
    key = query.model_dump_json()
    result = kept.get(key)
    if result is None:
        result = backend.search(query)
        kept.put(key, result)
    return SearchResult(
        total=result.total,
        items=[dict(item) for item in result.items],
        facets={name: list(values) for name, values in result.facets.items()},
    )


class _Kept:
    """Values by key, least recently used out first, bounded in number; thread-safe."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self.values: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()


def kept_until_change(
    backend: SearchBackend,
    name: str,
    key: Hashable,
    compute: Callable[[], T],
    max_items: int = 512,
) -> T:
    """`compute()`, or what it returned for `key` since the index last changed (kept in the
    backend's memo under `name`, at most `max_items`). The value is shared: callers must not
    change it (copy what they change)."""
    memo: dict[str, Any] | None = backend.memo()
    if memo is None:
        return compute()
    kept = memo.get(name)
    if kept is None:
        kept = memo.setdefault(name, _Kept(max_items))
    with kept.lock:
        if key in kept.values:
            kept.values.move_to_end(key)
            value: T = kept.values[key]
            return value
    value = compute()  # outside the lock: two threads may both compute a new key, once
    with kept.lock:
        kept.values[key] = value
        while len(kept.values) > kept.max_items:
            kept.values.popitem(last=False)
    return value
