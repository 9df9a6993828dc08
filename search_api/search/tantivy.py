"""Embedded search backend on tantivy (the only module that imports `tantivy`).

On-disk layout (everything lives under `path`)::

    path/CURRENT             {"generation": "index-000003-9f2c1a", "schema_version": 1}
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
to be replaced. Readers use a manual reload policy: before a search, if more than
`RELOAD_INTERVAL` seconds passed since the last check, we re-read `CURRENT` (reopen on a swap)
and stat `meta.json` (reload when another process committed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import tantivy
from tantivy import (
    Filter,
    Index,
    Occur,
    Order,
    Query,
    SchemaBuilder,
    TextAnalyzerBuilder,
    Tokenizer,
)

from search_api.errors import SearchUnavailable
from search_api.schema import AnyRecord
from search_api.search.base import (
    FACET_FIELDS,
    FacetValue,
    SearchBackend,
    SearchQuery,
    SearchResult,
    record_extra_text,
    record_interval,
)
from search_api.settings import Settings

SCHEMA_VERSION = 4
"""Bump when the schema or the analyzer changes; an index with another version must be rebuilt."""

ANALYZER_NAME = "tp_folded"
POINTER_FILE = "CURRENT"
GEN_PREFIX = "index-"

TITLE_BOOST = 3.0
RELOAD_INTERVAL = 0.5
"""Seconds between checks for commits / swaps made by another process."""
MAX_QUERY_TERMS = 32
"""Words beyond this are ignored (a 10 kB paste must not build a 2000-clause query)."""
FACET_SIZE = 10_000
"""Terms-aggregation size: larger than any facet's vocabulary, so counts are exact."""

FACET_CACHE_SIZE = 2048
"""Facet results kept per reader view, least recently used first out (~2 kB each)."""

_UNDATED_ASC = 2**62  # sorts after every real date in ascending order
_UNDATED_DESC = -(2**62)  # sorts after every real date in descending order

_FILTER_FIELDS = ("kind", "markets", "sectors", "status")
# query attribute -> keyword field, for finance filters (OR within, AND across)
_FINANCE_TERM_FIELDS = {"instruments": "instruments", "provider_types": "provider_type"}
_OPEN_TO_ALL = "*"
"""`eligible` token of records without an origin restriction (fairs, empty lists)."""
_TEXT_FIELDS = ("title", "summary", "text")
MAX_MONTH_TERMS = 60
"""A record spanning more months than this is indexed as `_LONG` instead of month by month."""
MAX_WINDOW_MONTHS = 36
"""Date windows up to this many months are narrowed by month terms first (see `_date_filters`)."""
_LONG = "long"

# Facet counting. Tantivy's terms aggregation over a multi-valued column costs ~35 ns per
# matching document, over a dense single-valued one ~1 ns: counting sectors over 600k fairs took
# 25 ms. So each multi-valued facet field also gets POSITIONS dense single-valued columns
# (`sectors@0` = the first sector, ... , `_NONE` where a record has fewer), summed at query
# time. A record with more values than that has `_NONE` everywhere and is listed under
# `facet_overflow`; its values are counted from the multi-valued column, over those few only.
_FACET_POSITIONS = {"markets": 3, "sectors": 4, "status": 1}
_NONE = "\x00"


def _build_analyzer(*, for_query: bool = False) -> tantivy.TextAnalyzer:
    # Split on non-alphanumerics, drop absurd tokens (>= 40 bytes), lowercase, fold to
    # ASCII ("Besançon" -> "besancon", "Straße" -> "strasse").
    # No stemming on purpose: the corpus is multilingual (DE/FR/ES/... fair names, authority
    # texts) and the English Snowball stemmer conflates words across languages and meanings,
    # e.g. French "marché" and the month "March" both become "march", which hurts precision
    # on a fair calendar. No stop words either, so "The Big Five" still finds its title.
    # The query side keeps long tokens: a word too long to have been indexed then matches
    # nothing (AND semantics) instead of silently vanishing and widening the query.
    builder = TextAnalyzerBuilder(Tokenizer.simple())
    if not for_query:
        builder = builder.filter(Filter.remove_long(40))
    return builder.filter(Filter.lowercase()).filter(Filter.ascii_fold()).build()


_ANALYZER = _build_analyzer()
_QUERY_ANALYZER = _build_analyzer(for_query=True)


def _build_schema() -> tantivy.Schema:
    sb = SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    # keyword fields: raw tokenizer, fast for terms aggregations; multi-valued
    for name in (*_FILTER_FIELDS, "hs_codes"):
        sb.add_text_field(name, stored=False, fast=True, tokenizer_name="raw")
    # finance: eligible exporter countries (requirements: origins), SME flag, amounts
    for name in ("instruments", "provider_type", "eligible", "sme", "min_currency", "max_currency"):
        sb.add_text_field(name, stored=False, tokenizer_name="raw")
    sb.add_float_field("min_value", indexed=True, fast=True)
    sb.add_float_field("max_value", indexed=True, fast=True)
    for name in _TEXT_FIELDS:
        # "freq": BM25 needs term frequencies but we never run phrase queries.
        sb.add_text_field(name, stored=False, tokenizer_name=ANALYZER_NAME, index_option="freq")
    for name, positions in _FACET_POSITIONS.items():
        for i in range(positions):
            sb.add_text_field(f"{name}@{i}", stored=False, fast=True, tokenizer_name="raw")
    sb.add_text_field("facet_overflow", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_boolean_field("withdrawn", indexed=True, fast=True)
    sb.add_date_field("date_start", indexed=True, fast=True)
    sb.add_date_field("date_end", indexed=True, fast=True)
    # "YYYY-MM" of every month a record's interval touches: a date window becomes a term-set
    # query over a few posting lists before the exact range check (two range scans over every
    # dated record took 14 ms at 1M records; with the months first, 0.5 ms).
    sb.add_text_field("months", stored=False, tokenizer_name="raw", index_option="basic")
    # sort keys (day ordinals), undated records get a value that puts them last
    sb.add_integer_field("sort_asc", fast=True)
    sb.add_integer_field("sort_desc", fast=True)
    # the whole record as JSON; bytes so it is stored but never indexed
    sb.add_bytes_field("doc", stored=True, indexed=False)
    return sb.build()


_SCHEMA = _build_schema()


def _utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _months(start: date, end: date) -> list[str]:
    """ "YYYY-MM" for each month from `start`'s to `end`'s, inclusive."""
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, last + 1)]


def _add_finance_fields(doc: tantivy.Document, record: AnyRecord) -> None:
    if record.kind == "requirement":
        origins = record.origins  # type: ignore[union-attr]
    elif record.kind == "finance":
        origins = record.eligible_exporter_countries  # type: ignore[union-attr]
    else:
        origins = []
    for code in origins or [_OPEN_TO_ALL]:
        doc.add_text("eligible", code)
    if record.kind != "finance":
        return
    for instrument in record.instruments:  # type: ignore[union-attr]
        doc.add_text("instruments", instrument)
    provider = record.provider  # type: ignore[union-attr]
    if provider is not None and provider.type:
        doc.add_text("provider_type", provider.type)
    doc.add_text("sme", "yes" if record.sme_focus else "no")  # type: ignore[union-attr]
    for side in ("min", "max"):
        money = getattr(record, f"{side}_amount")
        if money is not None:
            doc.add_float(f"{side}_value", float(money.value))
            doc.add_text(f"{side}_currency", money.currency)


def _add_facet_columns(doc: tantivy.Document, values: dict[str, list[str]]) -> None:
    for name, positions in _FACET_POSITIONS.items():
        present = [v for v in values[name] if v]
        overflow = len(present) > positions
        if overflow:
            doc.add_text("facet_overflow", name)
        for i in range(positions):
            doc.add_text(f"{name}@{i}", present[i] if i < len(present) and not overflow else _NONE)


def _to_document(record: AnyRecord) -> tantivy.Document:
    doc = tantivy.Document()
    _add_finance_fields(doc, record)
    doc.add_text("id", record.id)
    doc.add_text("kind", record.kind)
    for m in record.markets:
        doc.add_text("markets", m)
    for s in record.sectors:
        doc.add_text("sectors", s)
    status = getattr(record, "status", None)
    if status:
        doc.add_text("status", status)
    for code in record.hs_codes:
        doc.add_text("hs_codes", code)
    _add_facet_columns(
        doc, {"markets": record.markets, "sectors": record.sectors, "status": [status or ""]}
    )
    doc.add_text("title", record.title)
    if record.summary:
        doc.add_text("summary", record.summary)
    for part in (record.text, *record_extra_text(record)):
        if part:
            doc.add_text("text", part)
    doc.add_boolean("withdrawn", bool(record.withdrawn))
    start, end = record_interval(record)
    if start is not None:
        doc.add_date("date_start", _utc(start))
        doc.add_integer("sort_asc", start.toordinal())
        doc.add_integer("sort_desc", start.toordinal())
    else:
        doc.add_integer("sort_asc", _UNDATED_ASC)
        doc.add_integer("sort_desc", _UNDATED_DESC)
    if end is not None:
        doc.add_date("date_end", _utc(end))
    if start is not None and end is not None:
        months = _months(start, end) if end >= start else []
        for month in months if len(months) <= MAX_MONTH_TERMS else [_LONG]:
            doc.add_text("months", month)
    doc.add_bytes("doc", record.model_dump_json().encode())
    return doc


def query_terms(q: str | None) -> list[str]:
    """The words of a free-text query, analyzed exactly like the indexed text; never raises.

    Query syntax has no meaning here: `title:foo AND (` is the three words title, foo, and.
    """
    if not q or not q.strip():
        return []
    try:
        tokens = _QUERY_ANALYZER.analyze(q)
    except Exception:  # pragma: no cover - defensive: the analyzer accepts any str
        tokens = []
    return list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]


def _hs_query(schema: tantivy.Schema, hs: str) -> Query:
    code = "".join(ch for ch in hs if not ch.isspace() and ch != ".")
    if not code or not code.isascii() or not code.isdigit():
        return Query.empty_query()
    # codes tagged on a record that are a prefix of the asked code ("09" for "090121") ...
    up = Query.term_set_query(schema, "hs_codes", [code[:i] for i in range(1, len(code) + 1)])
    # ... or that the asked code is a prefix of ("090111" for "09"); digits only, regex-safe
    down = Query.regex_query(schema, "hs_codes", f"{code}[0-9]+")
    return Query.boolean_query([(Occur.Should, up), (Occur.Should, down)])


def _finance_filters(schema: tantivy.Schema, query: SearchQuery) -> list[Query]:
    filters: list[Query] = []
    for attr, field in _FINANCE_TERM_FIELDS.items():
        values = [v.strip() for v in getattr(query, attr) if v and v.strip()]
        if values:
            filters.append(_terms(schema, field, values))
    if query.origins:
        codes = [c.strip().upper() for c in query.origins if c and c.strip()]
        filters.append(Query.term_set_query(schema, "eligible", [*codes, _OPEN_TO_ALL]))
    if query.sme_focus is not None:
        filters.append(Query.term_query(schema, "sme", "yes" if query.sme_focus else "no"))
    if query.amount_min is not None or query.amount_max is not None:
        # Overlap of [min_amount, max_amount] with the asked range: exclude programmes whose
        # minimum is above the range or whose maximum is below it, in the asked currency.
        clauses: list[tuple[Occur, Query]] = [
            (Occur.Must, Query.term_query(schema, "kind", "finance"))
        ]
        float_type = tantivy.FieldType.Float
        outside: list[tuple[str, Query]] = []
        if query.amount_max is not None:  # minimum above the range
            outside.append(
                (
                    "min_currency",
                    Query.range_query(
                        schema,
                        "min_value",
                        float_type,
                        lower_bound=float(query.amount_max),
                        include_lower=False,
                    ),
                )
            )
        if query.amount_min is not None:  # maximum below the range
            outside.append(
                (
                    "max_currency",
                    Query.range_query(
                        schema,
                        "max_value",
                        float_type,
                        upper_bound=float(query.amount_min),
                        include_upper=False,
                    ),
                )
            )
        for currency_field, out in outside:
            if query.currency:
                same = Query.term_query(schema, currency_field, query.currency.upper())
                out = Query.boolean_query([(Occur.Must, out), (Occur.Must, same)])
            clauses.append((Occur.MustNot, out))
        filters.append(Query.boolean_query(clauses))
    return filters


def _terms(schema: tantivy.Schema, field: str, values: Sequence[str]) -> Query:
    """Any of `values` in `field`. A term-set query over one value cost 1.6x a term query."""
    values = list(dict.fromkeys(values))
    if len(values) == 1:
        return Query.term_query(schema, field, values[0])
    return Query.term_set_query(schema, field, values)


def _date_filters(schema: tantivy.Schema, query: SearchQuery) -> list[Query]:
    """Overlap of each record's [date_start, date_end] with [date_from, date_to].

    In a bounded window of a few months, a record touching a month that lies wholly inside the
    window overlaps it: a term query says so. Only records touching just the window's partial
    first or last month (or indexed as `_LONG`) need the exact range checks, which then seek
    within that set. The result is the same as the range checks alone."""
    lo, hi = query.date_from, query.date_to
    if lo and hi and lo > hi:
        return [Query.empty_query()]
    ranges: list[Query] = []
    if lo:  # overlap: end >= from
        ranges.append(
            Query.range_query(schema, "date_end", tantivy.FieldType.Date, lower_bound=_utc(lo))
        )
    if hi:  # overlap: start <= to
        ranges.append(
            Query.range_query(schema, "date_start", tantivy.FieldType.Date, upper_bound=_utc(hi))
        )
    if not (lo and hi) or len(months := _months(lo, hi)) > MAX_WINDOW_MONTHS:
        return ranges
    whole = [
        m
        for m in months
        if (m != months[0] or lo.day == 1) and (m != months[-1] or (hi + timedelta(1)).day == 1)
    ]
    partial = [m for m in months if m not in whole]
    edge = Query.boolean_query(
        [
            (Occur.Must, _terms(schema, "months", [*partial, _LONG])),
            *((Occur.Must, r) for r in ranges),
        ]
    )
    if not whole:
        return [edge]
    inside = _terms(schema, "months", whole)
    return [Query.boolean_query([(Occur.Should, inside), (Occur.Should, edge)])]


def _is_lock_busy(exc: BaseException) -> bool:
    return "LockBusy" in str(exc) or "index lock" in str(exc)


@dataclass
class _View:
    """A searcher and what was computed on it; replaced as a whole on reload."""

    searcher: tantivy.Searcher
    # facets of recent queries (terms aggregations over multi-valued fields cost ~15 ns per
    # matching doc; paging through results or reloading a landing page reuses them)
    facets: OrderedDict[tuple[Any, ...], dict[str, list[FacetValue]]] = dataclasses.field(
        default_factory=OrderedDict
    )
    # what callers derive from searches on this view (`SearchBackend.memo`)
    memo: dict[Any, Any] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


@dataclass
class _Generation:
    name: str
    version: int
    index: tantivy.Index
    view: _View
    meta_sig: tuple[int, int, int] | None
    checked_at: float


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
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if self._read_pointer() is None:
                self._create_initial()
            self._refresh(force=True)
        except SearchUnavailable:
            raise
        except (OSError, ValueError, RuntimeError) as exc:
            raise SearchUnavailable(f"cannot open search index at {self.root}: {exc}") from exc

    # ------------------------------------------------------------------ generations / pointer

    @property
    def _pointer_path(self) -> Path:
        return self.root / POINTER_FILE

    def _read_pointer(self) -> tuple[str, int] | None:
        try:
            data = json.loads(self._pointer_path.read_text(encoding="utf-8"))
            return str(data["generation"]), int(data.get("schema_version", 0))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SearchUnavailable(
                f"unreadable index pointer {self._pointer_path}: {exc}"
            ) from exc

    def _pointer_tmp(self, gen_name: str) -> Path:
        tmp = self.root / f".{POINTER_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        payload = json.dumps({"generation": gen_name, "schema_version": SCHEMA_VERSION})
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
        index = Index(_SCHEMA, path=str(directory), reuse=False)
        index.register_tokenizer(ANALYZER_NAME, _ANALYZER)
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

    def _open_generation(self, name: str, version: int) -> _Generation:
        directory = self.root / name
        meta_sig = self._meta_sig(directory)
        index = Index.open(str(directory))
        index.register_tokenizer(ANALYZER_NAME, _ANALYZER)
        index.config_reader("manual")
        view = _View(index.searcher())
        return _Generation(name, version, index, view, meta_sig, time.monotonic())

    @staticmethod
    def _meta_sig(directory: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(directory / "meta.json")
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self, force: bool = False) -> _Generation:
        """The live generation, reopened after a swap and reloaded after a commit elsewhere."""
        gen = self._gen
        if gen is not None and not force and time.monotonic() - gen.checked_at < RELOAD_INTERVAL:
            return gen
        with self._lock:
            last_exc: BaseException | None = None
            for _ in range(5):
                try:
                    return self._refresh_locked()
                except SearchUnavailable:
                    raise
                except (OSError, ValueError, RuntimeError) as exc:
                    # typically: the generation we were opening was removed by a concurrent
                    # rebuild; read the pointer again
                    last_exc = exc
                    self._gen = None
                    time.sleep(0.05)
            raise SearchUnavailable(f"cannot open search index at {self.root}: {last_exc}")

    def _refresh_locked(self) -> _Generation:
        pointer = self._read_pointer()
        if pointer is None:
            raise SearchUnavailable(f"no search index at {self.root} (pointer file missing)")
        name, version = pointer
        gen = self._gen
        if gen is None or gen.name != name:
            self._gen = gen = self._open_generation(name, version)
            return gen
        sig = self._meta_sig(self.root / name)
        if sig is None:
            raise OSError(f"generation {name} has no meta.json")
        if sig != gen.meta_sig:
            gen.index.reload()
            gen.view = _View(gen.index.searcher())
            gen.meta_sig = sig
        gen.checked_at = time.monotonic()
        return gen

    def _live(self, force: bool = False) -> _Generation:
        """The live generation, checked to have this code's schema (all but rebuild need it)."""
        gen = self._refresh(force)
        if gen.version != SCHEMA_VERSION:
            raise SearchUnavailable(
                f"search index at {self.root} was built with schema version {gen.version}, "
                f"this code needs {SCHEMA_VERSION}; rebuild the index (reindex)"
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
                    raise SearchUnavailable(
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
                    raise SearchUnavailable(f"search index write failed: {exc}") from exc
                finally:
                    if not committed:
                        self._release_writer(writer, commit=False)
                    writer = None
                self._live(force=True)
                return
            raise SearchUnavailable("search index kept being swapped while writing; retry")

    def index(self, records: Sequence[AnyRecord]) -> None:
        latest = {r.id: r for r in records}  # last version of an id wins
        if not latest:
            return
        docs = [(rid, _to_document(r)) for rid, r in latest.items()]

        def apply(writer: Any) -> None:
            for rid, doc in docs:
                writer.delete_documents_by_term("id", rid)
                writer.add_document(doc)

        self._write(apply)

    def delete(self, ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return

        def apply(writer: Any) -> None:
            for rid in unique:
                writer.delete_documents_by_term("id", rid)

        self._write(apply)

    def rebuild(self, records: Iterable[AnyRecord]) -> int:
        with self._write_lock:
            for _ in range(5):
                old = self._refresh(force=True)
                # Hold the live generation's writer lock for the whole rebuild: other writers
                # wait or fail loudly instead of writing into a generation about to be dropped.
                guard = self._acquire_writer(old.index, 15_000_000, 1)
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

    def _build_generation(self, records: Iterable[AnyRecord], previous: str) -> str:
        name = self._new_gen_name(previous)
        directory = self.root / name
        writer = None
        try:
            index = self._create_index(directory)
            writer = index.writer(heap_size=self.rebuild_heap, num_threads=self.rebuild_threads)
            for record in records:
                # delete-then-add keeps ids unique even if `records` repeats one
                writer.delete_documents_by_term("id", record.id)
                writer.add_document(_to_document(record))
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

    def _build_query(self, query: SearchQuery, schema: tantivy.Schema) -> tuple[Query, bool]:
        """(tantivy query, has_text). Text clauses score with BM25; filters score 0."""
        clauses: list[tuple[Occur, Query]] = []
        terms = query_terms(query.q)
        for term in terms:
            per_field = [
                (
                    Occur.Should,
                    Query.boost_query(Query.term_query(schema, "title", term), TITLE_BOOST),
                ),
                (Occur.Should, Query.term_query(schema, "summary", term)),
                (Occur.Should, Query.term_query(schema, "text", term)),
            ]
            clauses.append((Occur.Must, Query.boolean_query(per_field)))

        filters: list[Query] = []
        for field in _FILTER_FIELDS:
            values = [v.strip() for v in getattr(query, field) if v and v.strip()]
            if field == "markets":
                values = [v.upper() for v in values]
            if values:
                filters.append(_terms(schema, field, values))
        if query.hs is not None and query.hs.strip():
            filters.append(_hs_query(schema, query.hs))
        filters.extend(_finance_filters(schema, query))
        filters.extend(_date_filters(schema, query))
        if terms and filters:
            # Filters must not change BM25 scores: one constant-score wrapper around all of
            # them (a wrapper per filter cost 1.5 ms on a 50k-hit date window at 1M records).
            conjunction = Query.boolean_query([(Occur.Must, f) for f in filters])
            clauses.append((Occur.Must, Query.const_score_query(conjunction, 0.0)))
        else:
            # Without query words results are sorted by date and never scored.
            clauses.extend((Occur.Must, f) for f in filters)
        if not clauses:
            clauses.append((Occur.Must, Query.all_query()))
        if not query.include_withdrawn:
            clauses.append((Occur.MustNot, Query.term_query(schema, "withdrawn", True)))
        return Query.boolean_query(clauses), bool(terms)

    def search(self, query: SearchQuery) -> SearchResult:
        gen = self._live()
        view = gen.view
        searcher = view.searcher
        try:
            tq, has_text = self._build_query(query, _SCHEMA)
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
            # tantivy panics on limit=0: for a count-only request collect one hit and drop it
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
                    items.append(orjson.loads(searcher.doc(address).get_first("doc")))
            facets = self._cached_facets(view, tq, query) if query.facets else {}
        except (OSError, ValueError, RuntimeError) as exc:
            raise SearchUnavailable(f"search failed: {exc}") from exc
        return SearchResult(total=result.count or 0, items=items, facets=facets)

    @classmethod
    def _cached_facets(
        cls, view: _View, tq: Query, query: SearchQuery
    ) -> dict[str, list[FacetValue]]:
        key = (
            tuple(query_terms(query.q)),
            *(tuple(sorted(getattr(query, f))) for f in _FILTER_FIELDS),
            query.hs,
            *(tuple(sorted(getattr(query, f))) for f in (*_FINANCE_TERM_FIELDS, "origins")),
            query.sme_focus,
            query.amount_min,
            query.amount_max,
            query.currency,
            query.date_from,
            query.date_to,
            query.include_withdrawn,
        )
        cache = view.facets
        with view.lock:
            facets = cache.get(key)
            if facets is not None:
                cache.move_to_end(key)
        if facets is None:
            facets = cls._facets(view.searcher, tq)  # outside the lock: searches run in threads
            with view.lock:
                cache[key] = facets
                while len(cache) > FACET_CACHE_SIZE:
                    cache.popitem(last=False)
        # the cached lists are shared between results: hand out copies
        return {f: list(values) for f, values in facets.items()}

    @staticmethod
    def _facets(searcher: tantivy.Searcher, tq: Query) -> dict[str, list[FacetValue]]:
        columns = {f"{name}@{i}": name for name, n in _FACET_POSITIONS.items() for i in range(n)}
        columns.update({f: f for f in FACET_FIELDS if f not in _FACET_POSITIONS})
        raw = searcher.aggregate(
            tq, {c: {"terms": {"field": c, "size": FACET_SIZE}} for c in columns}
        )
        counts: dict[str, Counter[str]] = {f: Counter() for f in FACET_FIELDS}
        for column, field in columns.items():
            for b in raw.get(column, {}).get("buckets", []):
                counts[field][str(b["key"])] += int(b["doc_count"])
        for field in _FACET_POSITIONS:
            if searcher.doc_freq("facet_overflow", field):
                few = Query.boolean_query(
                    [
                        (Occur.Must, tq),
                        (Occur.Must, Query.term_query(_SCHEMA, "facet_overflow", field)),
                    ]
                )
                spec = {field: {"terms": {"field": field, "size": FACET_SIZE}}}
                for b in searcher.aggregate(few, spec).get(field, {}).get("buckets", []):
                    counts[field][str(b["key"])] += int(b["doc_count"])
        out: dict[str, list[FacetValue]] = {}
        for field in FACET_FIELDS:
            pairs = sorted(
                ((v, c) for v, c in counts[field].items() if c > 0 and v != _NONE),
                key=lambda kv: (-kv[1], kv[0]),
            )
            out[field] = [FacetValue(value=v, count=c) for v, c in pairs]
        return out

    # ------------------------------------------------------------------ misc

    def count(self) -> int:
        try:
            return self._live().view.searcher.num_docs
        except (OSError, ValueError, RuntimeError) as exc:
            raise SearchUnavailable(f"search index unavailable: {exc}") from exc

    def needs_rebuild(self) -> bool:
        try:
            return self._refresh().version != SCHEMA_VERSION
        except (OSError, ValueError, RuntimeError):
            return False

    def memo(self) -> dict[Any, Any] | None:
        try:
            return self._live().view.memo
        except (SearchUnavailable, OSError, ValueError, RuntimeError):
            return None  # the search itself will say what is wrong

    def ping(self) -> bool:
        try:
            self._live().view.searcher.num_docs  # noqa: B018 - touch the reader
        except Exception:
            return False
        return True

    def close(self) -> None:
        """Drop the reader; a later call reopens lazily."""
        with self._lock:
            self._gen = None


def create(settings: Settings) -> TantivyBackend:
    return TantivyBackend(settings.index_dir)
