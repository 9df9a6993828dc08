"""Search answers kept until the index changes, with their ETag and gzip computed once.

Popular searches (a market's fairs, a product's rules) repeat far more often than the index
changes, and a search costs 10-50x the framework's own work per request. Answers live in the
backend's memo, which the backend replaces whenever a change becomes visible, so an answer is
never staler than a fresh search would be.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from search_api.search.base import SearchBackend

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
