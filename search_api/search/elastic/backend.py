"""Scale-out search backend on Elasticsearch 8 (this package is the only one importing
`elasticsearch`).

Layout (request bodies are built by the pure functions in `mapping.py`, `query.py` and
`facets.py`)::

    {prefix}-fair-v7  {prefix}-requirement-v7  {prefix}-finance-v7   versioned indices
    {prefix}-fair     {prefix}-requirement     {prefix}-finance      write alias per kind
    {prefix}-all                                                      read alias, every kind

`rebuild()` creates the next version of every kind's index, bulk-loads it, then moves all
aliases in ONE `_aliases` call (atomic) and deletes the old indices; a failed build deletes
what it created and leaves the aliases alone, so searches answer from the old indices
throughout. While it loads, its new indices carry a marker alias `{prefix}-building-{unix
time}`: writes made meanwhile would land only in the old indices and be lost at the swap, so
`index()`/`delete()` refuse with SearchUnavailable and the outbox keeps the changes until the
swap. A marker older than `stale_rebuild_seconds` is a crashed rebuild's and is ignored (the
next rebuild deletes its indices).

Every client or transport error becomes `SearchUnavailable` (HTTP 503): the system of record
keeps every record, the outbox every pending change.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from search_api.domain.records import KINDS, AnyRecord
from search_api.errors import SearchUnavailable, TradepointError
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.search.elastic import mapping as X
from search_api.search.elastic import query as Q
from search_api.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
"""Bulk item statuses worth retrying (queue full, node restarting)."""
_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,100}$")


def _redact(url: str) -> str:
    """The URL without credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _batched(items: Iterable[T], n: int) -> Iterable[list[T]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def _error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return str(error.get("type", "")) if isinstance(error, dict) else ""


@dataclass
class IndexState:
    """Our indices and aliases as read from the cluster."""

    live: dict[str, str] = field(default_factory=dict)
    """kind -> index behind the kind alias."""
    versions: dict[str, int] = field(default_factory=dict)
    """every index of ours -> its version."""
    building: dict[str, int] = field(default_factory=dict)
    """index -> start time (unix) of the rebuild loading it."""


def parse_state(prefix: str, aliases: dict[str, Any]) -> IndexState:
    """Read an `indices.get_alias(index="{prefix}-*")` answer; other deployments' indices
    whose names merely start with the prefix are ignored."""
    name_re = re.compile(rf"^{re.escape(prefix)}-({'|'.join(KINDS)})-v(\d+)$")
    marker_re = re.compile(rf"^{re.escape(prefix)}-building-(\d+)$")
    state = IndexState()
    for index, info in aliases.items():
        m = name_re.match(index)
        if not m:
            continue
        kind, version = m.group(1), int(m.group(2))
        state.versions[index] = version
        for alias in (info or {}).get("aliases") or {}:
            if alias == X.kind_alias(prefix, kind):
                state.live[kind] = index
            elif mm := marker_re.match(alias):
                state.building[index] = int(mm.group(1))
    return state


def _mapping_version(mapping: dict[str, Any]) -> tuple[int, Any]:
    """(mapping version, glossary digest) of an index's mapping: those it was built with."""
    meta = mapping.get("_meta") or {}
    meta = meta if isinstance(meta, dict) else {}
    version = meta.get("tradepoint_mapping")
    # indices made before versions were version 1
    return (version if isinstance(version, int) else 1), meta.get("glossary")


def _wanted_version() -> tuple[int, Any]:
    return X.MAPPING_VERSION, X.mappings("fair")["_meta"]["glossary"]


MAPPING_CHECK_SECONDS = 60.0
"""How long a check that the live indices have this code's mapping is trusted (the indexer
asks before every drain)."""


class ElasticBackend(SearchBackend):
    name = "elastic"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tradepoint",
        request_timeout: float = 10.0,
        rebuild_timeout: float = 120.0,
        bulk_chunk: int = 500,
        bulk_retries: int = 3,
        retry_backoff: float = 0.5,
        stale_rebuild_seconds: float = 6 * 3600,
    ) -> None:
        if not _PREFIX_RE.match(prefix):
            raise TradepointError(
                f"TRADEPOINT_INDEX_PREFIX {prefix!r} is not a valid index name prefix "
                "(lowercase letters, digits, '_', '-', '.', '+'; not starting with them)",
                code="bad_setting",
            )
        self.url = _redact(url)
        self.prefix = prefix
        self.rebuild_timeout = rebuild_timeout
        self.bulk_chunk = bulk_chunk
        self.bulk_retries = bulk_retries
        self.retry_backoff = retry_backoff
        self.stale_rebuild_seconds = stale_rebuild_seconds
        try:
            # No request is made here: the API must start (and report degraded) while the
            # cluster is down.
            self._es = Elasticsearch(
                url, request_timeout=request_timeout, max_retries=2, retry_on_timeout=True
            )
        except (ValueError, TypeError) as exc:
            raise TradepointError(
                f"TRADEPOINT_ELASTICSEARCH_URL {self.url!r} is not usable: {exc}",
                code="bad_setting",
            ) from exc
        self._ready = False
        self._mapping_ok_until = 0.0
        self.read_alias = X.read_alias(prefix)
        self.kind_aliases = {kind: X.kind_alias(prefix, kind) for kind in KINDS}

    # ------------------------------------------------------------------ plumbing

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call, translating its errors into SearchUnavailable."""
        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            raise SearchUnavailable(
                f"Elasticsearch at {self.url} refused {what}: "
                f"{exc.meta.status} {_error_type(exc) or exc.message}"
            ) from exc
        except TransportError as exc:
            raise SearchUnavailable(
                f"Elasticsearch at {self.url} is unreachable ({what}): {exc.message}"
            ) from exc

    def _state(self) -> IndexState:
        es = self._es.options(ignore_status=404)
        raw = self._call("reading aliases", es.indices.get_alias, index=f"{self.prefix}-*")
        body = raw.body if isinstance(raw.body, dict) else {}
        # a 404 answer holds {"error": ..., "status": 404} instead of indices
        return parse_state(self.prefix, {k: v for k, v in body.items() if isinstance(v, dict)})

    def _create_index(self, name: str, kind: str, aliases: Sequence[str], building: bool) -> None:
        self._call(
            f"creating index {name}",
            self._es.indices.create,
            index=name,
            settings=X.index_settings(building=building),
            mappings=X.mappings(kind),
            aliases={alias: {} for alias in aliases},
        )

    def _ensure(self) -> None:
        """Create the first version of any kind's index that has none (lazily, once)."""
        if self._ready:
            return
        state = self._state()
        version = max(state.versions.values(), default=0) + 1
        for kind in KINDS:
            if kind in state.live:
                self._add_new_fields(state.live[kind], kind)
                continue
            name = X.index_name(self.prefix, kind, version)
            try:
                self._create_index(name, kind, [self.kind_aliases[kind], self.read_alias], False)
                log.info("created search index %s", name)
            except SearchUnavailable as exc:
                cause = exc.__cause__
                if not (isinstance(cause, ApiError) and "already_exists" in _error_type(cause)):
                    raise
                # another process created it first; theirs carries the aliases
        self._ready = True

    def _add_new_fields(self, index: str, kind: str) -> None:
        """Add the fields a newer Tradepoint indexes to an index built by an older one.

        The mapping is strict, so without them every write of a record would be refused.
        Records indexed before lack the new fields (a filter on one does not find them) until
        `tradepoint reindex`, which the log says.
        """
        raw = self._call(
            f"reading the mapping of {index}", self._es.indices.get_mapping, index=index
        )
        body = raw.body if isinstance(raw.body, dict) else {}
        mapping = (body.get(index) or {}).get("mappings") or {}
        if _mapping_version(mapping) != _wanted_version():
            # new fields may need analyzers the index lacks: it is rebuilt instead
            log.warning("search index %s has an older mapping; it will be rebuilt", index)
            return
        have = mapping.get("properties") or {}
        want = X.mappings(kind)["properties"]
        missing = {name: spec for name, spec in want.items() if name not in have}
        if not missing:
            return
        self._call(
            f"adding fields to {index}",
            self._es.indices.put_mapping,
            index=index,
            properties=missing,
        )
        log.warning(
            "search index %s lacked the fields %s: added; run `tradepoint reindex` so that "
            "the records indexed before carry them",
            index,
            ", ".join(sorted(missing)),
        )

    def _fresh_rebuilds(self, state: IndexState) -> list[int]:
        now = time.time()
        return [t for t in state.building.values() if now - t < self.stale_rebuild_seconds]

    def _refuse_during_rebuild(self) -> None:
        started = self._fresh_rebuilds(self._state())
        if started:
            raise SearchUnavailable(
                f"a reindex is running (started {time.time() - min(started):.0f}s ago); "
                "changes stay queued until it finishes"
            )

    def _bulk(
        self, ops: list[dict[str, Any]], *, refresh: bool, timeout: float | None = None
    ) -> None:
        """Send one bulk request; retry it whole (index and delete are idempotent) while items
        fail with a retryable status, fail on any other item error."""
        es = self._es.options(request_timeout=timeout) if timeout else self._es
        delay = self.retry_backoff
        for attempt in range(self.bulk_retries + 1):
            resp = self._call("a bulk request", es.bulk, operations=ops, refresh=refresh)
            errors = []
            items = resp.body.get("items") or []
            for item in items:
                (op, result), *_ = item.items()
                # a delete of an absent id answers 404 without an error: fine
                if "error" in result:
                    errors.append((op, int(result.get("status", 500)), result["error"]))
            if not errors:
                return
            if attempt < self.bulk_retries and all(s in RETRYABLE_STATUS for _, s, _ in errors):
                time.sleep(delay)
                delay *= 2
                continue
            op, status, error = errors[0]
            if isinstance(error, dict):
                error = f"{error.get('type')}: {error.get('reason')}"
            if status == 404:
                self._ready = False  # an alias or index vanished: look again next time
            raise SearchUnavailable(
                f"Elasticsearch at {self.url} rejected {len(errors)} of {len(items)} bulk "
                f"operations (first: {op} {status} {error})"
            )

    # ------------------------------------------------------------------ writing

    def index(self, records: Iterable[AnyRecord]) -> dict[str, str]:
        latest = list({r.id: r for r in records}.values())  # last version of an id wins
        failed: dict[str, str] = {}
        if not latest:
            return failed
        self._ensure()
        self._refuse_during_rebuild()
        for chunk in _batched(latest, self.bulk_chunk):
            ops = X.bulk_index_ops(chunk, self.kind_aliases, failed=failed)
            if ops:
                self._bulk(ops, refresh=True)
        return failed

    def delete(self, ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return
        self._ensure()
        self._refuse_during_rebuild()
        for chunk in _batched(unique, self.bulk_chunk):
            self._bulk(X.bulk_delete_ops(chunk, self.kind_aliases.values()), refresh=True)

    def rebuild(self, records: Iterable[AnyRecord]) -> int:
        self._ensure()
        state = self._state()
        if self._fresh_rebuilds(state):
            raise SearchUnavailable("another reindex is running; try again when it finishes")
        # leftovers of crashed rebuilds: neither live nor being built
        orphans = [i for i in state.versions if i not in state.live.values()]
        if orphans:
            log.warning("deleting leftover search indices %s", ", ".join(orphans))
            self._call("deleting leftovers", self._es.indices.delete, index=",".join(orphans))
        version = max(state.versions.values(), default=0) + 1
        started = int(time.time())
        marker = f"{self.prefix}-building-{started}"
        new = {kind: X.index_name(self.prefix, kind, version) for kind in KINDS}
        created: list[str] = []
        slow = self._es.options(request_timeout=self.rebuild_timeout)
        try:
            for kind, name in new.items():
                self._create_index(name, kind, [marker], True)
                created.append(name)
            # records are read only now, after the marker exists: a change a writer applied
            # before the marker appeared is already in the system of record we read
            for chunk in _batched(records, self.bulk_chunk):
                ops = X.bulk_index_ops(chunk, new, cross_kind_deletes=False)
                self._bulk(ops, refresh=False, timeout=self.rebuild_timeout)
            targets = ",".join(created)
            self._call(
                "restoring refresh",
                slow.indices.put_settings,
                index=targets,
                settings={"index": {"refresh_interval": None}},
            )
            self._call("refreshing new indices", slow.indices.refresh, index=targets)
            total = int(self._call("counting", slow.count, index=targets)["count"])
            actions = X.swap_actions(self.prefix, state.live, new, marker)
            self._call("swapping aliases", slow.indices.update_aliases, actions=actions)
        except BaseException:
            if created:
                with contextlib.suppress(ApiError, TransportError):
                    self._es.indices.delete(index=",".join(created))
            raise
        old = [i for i in state.live.values() if i not in created]
        if old:
            try:
                self._es.indices.delete(index=",".join(old))
            except (ApiError, TransportError) as exc:
                # searches already use the new indices; the next rebuild removes these
                log.warning("could not delete old search indices %s: %s", old, exc)
        log.info("rebuilt search indices v%d with %d records", version, total)
        return total

    # ------------------------------------------------------------------ reading

    def _read(self, fn: Callable[[], T]) -> T:
        """A read against the read alias, retried once if an index vanished under it (a rebuild
        deleting the old indices, or someone deleting ours: then recreate them empty)."""
        self._ensure()
        try:
            return fn()
        except SearchUnavailable as exc:
            cause = exc.__cause__
            if not (
                isinstance(cause, ApiError) and _error_type(cause) == "index_not_found_exception"
            ):
                raise
            self._ready = False
            self._ensure()
            return fn()

    def search(self, query: SearchQuery) -> SearchResult:
        body = Q.build_search(query)
        kwargs = {key.lstrip("_"): value for key, value in body.items() if key != "from"}
        kwargs["from_"] = body["from"]

        def run() -> Any:
            return self._call("a search", self._es.search, index=self.read_alias, **kwargs)

        resp = self._read(run)
        return Q.parse_search(resp.body)

    def count(self) -> int:
        resp = self._read(lambda: self._call("a count", self._es.count, index=self.read_alias))
        return int(resp["count"])

    def needs_rebuild(self) -> bool:
        """True when a live index was built with another mapping version (X.MAPPING_VERSION) or
        glossary (its concepts): the indexer then rebuilds every index from the system of
        record."""
        if time.monotonic() < self._mapping_ok_until:
            return False
        try:
            state = self._state()
            if not state.live:
                return False
            names = ",".join(state.live.values())
            raw = self._call("reading mappings", self._es.indices.get_mapping, index=names)
        except SearchUnavailable:
            return False  # the search itself says what is wrong
        body = raw.body if isinstance(raw.body, dict) else {}
        for index in state.live.values():
            mapping = (body.get(index) or {}).get("mappings") or {}
            if _mapping_version(mapping) != _wanted_version():
                return True
        self._mapping_ok_until = time.monotonic() + MAPPING_CHECK_SECONDS
        return False

    def ping(self) -> bool:
        try:
            if not self._es.options(request_timeout=5).ping():
                return False
            self._ensure()
            return True
        except Exception:  # ping never raises: False is the answer
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._es.close()


def create(settings: Settings) -> ElasticBackend:
    if not settings.elasticsearch_url:
        raise TradepointError(
            "the elastic search backend needs TRADEPOINT_ELASTICSEARCH_URL", code="bad_setting"
        )
    return ElasticBackend(settings.elasticsearch_url, prefix=settings.index_prefix)
