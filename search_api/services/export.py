"""Bulk export: every record of a search, streamed as NDJSON or CSV, in constant memory.

Records are read from the system of record in id order, a batch at a time, and filtered with
`search/match.py` (the backends' own rules for one record): the index could not page past its
10,000-result window, and may lag behind the store. A search with no filter but the kind skips
parsing altogether: the stored JSON is written out as it is.

Each record carries its stable `id`, `version` and `last_changed`. The answer's
`X-Changes-Cursor` header is the change feed's position when the export started: a partner
loads the export, then follows `GET /api/v1/changes?since=<that cursor>`; changes made while
the export ran are in both, and applying one twice is harmless (compare `version`).
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, Literal, get_args

import orjson
from pydantic import BaseModel

from search_api.domain.records import (
    KINDS,
    FairRecord,
    FinanceRecord,
    RequirementRecord,
    stored_record_or_none,
)
from search_api.search.base import SearchQuery
from search_api.search.match import record_matches
from search_api.store import Store

Format = Literal["ndjson", "csv"]
MEDIA_TYPES: dict[str, str] = {
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}
BATCH = 1000
GZIP_LEVEL = 6
"""zlib level 6: about 4x smaller than level 1 costs, for a fraction of level 9's time."""
_MODELS: dict[str, type[BaseModel]] = {
    "fair": FairRecord,
    "requirement": RequirementRecord,
    "finance": FinanceRecord,
}
# Long full text of documents: in the NDJSON, not in a spreadsheet cell.
_CSV_LEFT_OUT = frozenset({"text"})
# Spreadsheets run a cell that starts with one of these as a formula ("CSV injection"); titles
# come from crawled pages, so such text cells get a leading apostrophe (NDJSON is untouched).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_FILTERS = (
    "q",
    "markets",
    "sectors",
    "status",
    "languages",
    "hs",
    "instruments",
    "provider_types",
    "origins",
    "sme_focus",
    "amount_min",
    "amount_max",
    "date_from",
    "date_to",
)


def _needs_matching(query: SearchQuery) -> bool:
    """Whether anything but the kind and the withdrawn flag (done in SQL) selects records."""
    return any(getattr(query, name) not in (None, (), "") for name in _FILTERS)


def matching_json(store: Store, query: SearchQuery) -> Iterator[list[str]]:
    """The stored JSON of the records `query` selects, in id order, a batch at a time."""
    match = _needs_matching(query)
    for rows in store.iter_record_json(
        kinds=query.kind, include_withdrawn=query.include_withdrawn, batch=BATCH
    ):
        if not match:
            yield [data for _, data in rows]
            continue
        out = []
        for _, data in rows:
            record = stored_record_or_none(data)
            if record is not None and record_matches(query, record):
                out.append(data)
        if out:
            yield out


# --------------------------------------------------------------------------- NDJSON


def ndjson_chunks(batches: Iterable[list[str]]) -> Iterator[bytes]:
    for batch in batches:
        yield ("\n".join(batch) + "\n").encode()


# --------------------------------------------------------------------------- CSV


def _nested(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def csv_columns(kinds: Iterable[str]) -> list[str]:
    """The columns of an export of `kinds`: every field of their models, in model order,
    nested objects as dotted columns (`provider.name`), as the curated CSV format reads them."""
    columns: list[str] = []
    for kind in kinds:
        for name, field in _MODELS[kind].model_fields.items():
            if name in _CSV_LEFT_OUT:
                continue
            nested = _nested(field.annotation)
            names = [f"{name}.{sub}" for sub in nested.model_fields] if nested else [name]
            columns += [n for n in names if n not in columns]
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(data: dict[str, Any], columns: list[str]) -> list[str]:
    out = []
    for column in columns:
        parent, _, child = column.partition(".")
        value = data.get(parent)
        if child:
            value = value.get(child) if isinstance(value, dict) else None
        out.append(_cell(value))
    return out


def csv_chunks(batches: Iterable[list[str]], kinds: Iterable[str]) -> Iterator[bytes]:
    columns = csv_columns(kinds)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    # A BOM, so that spreadsheet programs read the file as UTF-8 (accented names).
    buf.write("\ufeff")
    writer.writerow(columns)
    for batch in batches:
        for data in batch:
            writer.writerow(_row(orjson.loads(data), columns))
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


# --------------------------------------------------------------------------- compression


def gzipped(chunks: Iterable[bytes], level: int = GZIP_LEVEL) -> Iterator[bytes]:
    """A gzip stream (RFC 1952) of `chunks`, compressed as they come."""
    z = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = z.compress(chunk)
        if out:
            yield out
    yield z.flush()


def export(store: Store, query: SearchQuery, fmt: Format, *, gzip: bool = False) -> Iterator[bytes]:
    """The export body of `query` in `fmt`, as an iterator of byte chunks."""
    batches = matching_json(store, query)
    chunks = ndjson_chunks(batches) if fmt == "ndjson" else csv_chunks(batches, query.kind or KINDS)
    return gzipped(chunks) if gzip else chunks
