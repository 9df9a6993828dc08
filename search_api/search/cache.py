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
from typing import Any, Generic, TypeVar

import orjson

from search_api.search.base import (
    PackedFacets,
    SearchBackend,
    SearchQuery,
    SearchResult,
    pack_facets,
    unpack_facets,
)

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

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


class Lru(Generic[K, V]):
    """Values by key, least recently used out first, bounded in number and, with `weight`, in
    total weight (`weight_limit`). Thread-safe: the threads serving pages share them (an
    OrderedDict moved in two threads at once can lose keys)."""

    def __init__(
        self,
        max_items: int,
        max_weight: int | None = None,
        weight: Callable[[V], int] | None = None,
    ) -> None:
        self.max_items = max_items
        self._max_weight = max_weight
        self._weight = weight
        self._values: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def weight_limit(self) -> int | None:
        return self._max_weight

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        limit = self.weight_limit
        with self._lock:
            if key in self._values:
                return
            self._values[key] = value
            self._total += self._weight(value) if self._weight else 0
            while self._values and (
                len(self._values) > self.max_items or (limit is not None and self._total > limit)
            ):
                _, old = self._values.popitem(last=False)
                self._total -= self._weight(old) if self._weight else 0


class AnswerCache(Lru[CacheKey, Answer]):
    """Answers by request, bounded in number and in bytes (MAX_BYTES)."""

    def __init__(self, max_items: int) -> None:
        super().__init__(max_items, weight=lambda answer: len(answer.body))

    @property
    def weight_limit(self) -> int | None:
        return MAX_BYTES


def _kept(
    backend: SearchBackend, name: str, make: Callable[[], Lru[Any, Any]]
) -> Lru[Any, Any] | None:
    """What the backend's memo keeps under `name` for the current index state (made on first
    use); None when the backend cannot tell when its state changes."""
    memo: dict[str, Any] | None = backend.memo()
    if memo is None:
        return None
    kept = memo.get(name)
    if kept is None:
        kept = memo.setdefault(name, make())
    return kept


def answer_cache(backend: SearchBackend, max_items: int) -> AnswerCache | None:
    """The answers kept for the backend's current index state; None when caching is off."""
    if max_items <= 0:
        return None
    cache = _kept(backend, _MEMO_KEY, lambda: AnswerCache(max_items))
    return cache if isinstance(cache, AnswerCache) else None


def kept_until_change(
    backend: SearchBackend,
    name: str,
    key: Hashable,
    compute: Callable[[], T],
    max_items: int = 512,
    *,
    make: Callable[[], Lru[Any, Any]] | None = None,
) -> T:
    """`compute()`, or what it returned for `key` since the index last changed (kept in the
    backend's memo under `name`: at most `max_items`, or as `make()` bounds them). The value
    is shared: callers must not change it (copy what they change)."""
    kept = _kept(backend, name, make or (lambda: Lru(max_items)))
    if kept is None:
        return compute()
    found: T | None = kept.get(key)
    if found is None:
        found = compute()  # outside the lock: two threads may both compute a new key, once
        kept.put(key, found)
    return found


_RESULTS_KEY = "search-results"
MAX_RESULTS = 4096
"""Search results a process keeps per index state (each at most a page of parsed items)."""
MAX_RESULT_ITEMS = 20_000
"""Items, summed over the results kept (~2 kB each parsed: ~40 MB at most per process)."""


@dataclass(frozen=True, slots=True)
class KeptResult:
    """A search result as kept until the index changes: its items and facets as JSON text.

    Python's cyclic garbage collector visits every object it tracks in each full collection,
    holding the GIL, about 0.8 µs an object in an API worker: one keeping a few thousand
    results as parsed items (dicts of lists) paused 300-500 ms in each, holding up every
    request it was serving. Bytes are not tracked; decoding a page of items on each use costs
    about what copying them did, and hands out items nobody shares."""

    total: int
    items: bytes
    count: int
    facets: PackedFacets

    @classmethod
    def of(cls, result: SearchResult) -> KeptResult:
        return cls(
            result.total,
            orjson.dumps(result.items),
            len(result.items),
            pack_facets(result.facets),
        )

    def result(self) -> SearchResult:
        return SearchResult.model_construct(
            total=self.total,
            items=orjson.loads(self.items),
            facets=unpack_facets(self.facets),
        )


class ResultMemo(Lru[str, KeptResult]):
    """Search results by query, bounded in number and in items summed over them."""

    def __init__(self, max_results: int = MAX_RESULTS, max_items: int = MAX_RESULT_ITEMS) -> None:
        super().__init__(max_results, max_items, weight=lambda kept: kept.count)


def memo_search(backend: SearchBackend, query: SearchQuery) -> SearchResult:
    """`backend.search(query)`, answered from the results kept for the current index state
    when the same query was asked since the index last changed.

    A page built of several searches (a market page: the market's fairs, its rules for a
    product, the finance open to an origin) shares most of them with other pages: the fairs
    of Germany are the same whatever the product. Each call gets its own items: a caller may
    change them."""
    kept: KeptResult = kept_until_change(
        backend,
        _RESULTS_KEY,
        query.model_dump_json(),
        lambda: KeptResult.of(backend.search(query)),
        make=ResultMemo,
    )
    return kept.result()
