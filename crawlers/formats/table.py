"""`table`: CSV, JSON and XLSX tables, one record per row, columns mapped by `table` options.

A cell that cannot be read (a bad date, an unknown country) is left out of its record and
reported with the row number; the row itself is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from crawlers.extract.fields import coerce_fields
from crawlers.extract.table import detect_format, map_columns, read_table
from crawlers.normalise.urls import canonicalise
from search_api.domain.sources import (
    RECORD_COLUMN_MAP,
    SourceFormat,
    SourceSpec,
    source_field_names,
)

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider


class TableSpec(BaseModel):
    """How the rows of a `table` source (CSV, JSON, XLSX) become records."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "json", "xlsx"] | None = Field(
        None, description="default: from the URL's extension, the Content-Type, then the bytes"
    )
    columns: dict[str, str | None] = Field(
        default_factory=dict,
        description="column -> record field (dotted: provider.name, min_amount.currency; id: "
        "the row's stable key); null ignores a column; columns named like a field map to it",
        json_schema_extra=RECORD_COLUMN_MAP,
    )
    path: str | None = Field(None, description="JSON: dotted path to the array, e.g. data.items")
    sheet: str | None = Field(None, description="XLSX: sheet name (default: the first sheet)")
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="CSV: default sniffed"
    )
    encoding: str | None = Field(
        None,
        description="CSV/JSON: the publisher's encoding (cp949, cp1252, shift_jis, ...); "
        "default: UTF-8, else Windows-1252",
    )
    header_row: int | None = Field(
        None,
        ge=1,
        description="CSV/XLSX: the row holding the column names (1 = first); default: the first "
        "row after a preamble of one-cell rows",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is None:
            return None
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (e.g. utf-8, cp1252, cp949)") from None
        return v


class TableSource(SourceSpec):
    format: Literal["table"] = "table"
    table: TableSpec | None = None

    @field_validator("table")
    @classmethod
    def _columns_are_fields(cls, v: TableSpec | None, info: ValidationInfo) -> TableSpec | None:
        kind = info.data.get("kind")  # declared before `table`: validated already, if valid
        if v is not None and kind is not None:
            known = source_field_names(kind) | {"id"}
            for column, target in v.columns.items():
                if target and target not in known:
                    raise ValueError(
                        f"column {column!r} maps to {target!r}, which is not a field of "
                        f"{kind} records"
                    )
        return v


def row_key(values: dict[str, Any], shared_urls: Counter[str | None]) -> str:
    """The `id` column if there is one, else the row's own URL, else what the row says."""
    if values.get("id") not in (None, ""):
        return f"id:{values['id']}"
    url = values.get("url")
    if url and shared_urls[url] == 1:
        return f"url:{url}"
    parts = ("url", "title", "start_date", "effective_date")
    return "|".join(str(values.get(p) or "") for p in parts)


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    spec = spider.spec
    assert isinstance(spec, TableSource)
    options = spec.table
    content_type = spider.content_type(response)
    fmt = (options.format if options else None) or detect_format(
        response.body, response.url, content_type
    )
    result = read_table(
        response.body,
        fmt,
        path=options.path if options else None,
        sheet=options.sheet if options else None,
        delimiter=options.delimiter if options else None,
        encoding=options.encoding if options else None,
        header_row=options.header_row if options else None,
    )
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    columns = options.columns if options else {}
    # Reported once per table, not once per row: it is the table's shape that drifted.
    _, unmapped = map_columns(dict.fromkeys(result.columns), spider.spec.kind, columns)
    if unmapped:
        spider.collector.note_unmapped([f"column: {c}" for c in unmapped])
    rows = []
    for number, row in result.rows:
        values, _ = map_columns(row, spider.spec.kind, columns)
        rows.append((number, values))
    shared = Counter(canonicalise(str(v.get("url") or "")) for _, v in rows)
    label = "item" if result.format == "json" else "row"
    for number, values in rows:
        coerced = coerce_fields(
            {k: v for k, v in values.items() if k != "id"},
            spider.spec.kind,
            base_url=response.url,
            reading=spider.dates,
        )
        for problem in coerced.problems:
            spider.collector.add_error(response.url, f"{label} {number}: {problem}")
        if not coerced.values.get("title") and not spider.spec.defaults.get("title"):
            # said here, with the row number, rather than as an anonymous validation error
            spider.collector.failed += 1
            spider.collector.add_error(response.url, f"{label} {number}: no title; skipped")
            continue
        key_values = {**coerced.values, "id": values.get("id")}
        yield {
            **coerced.values,
            "_key": row_key(key_values, shared),
            "_page": response.url,
            "unmapped": coerced.unmapped,
        }


FORMAT = SourceFormat(
    name="table",
    source=TableSource,
    parse=parse,
    reads="CSV (delimiter sniffed; UTF-8 with or without BOM, else Windows-1252/Latin-1), JSON "
    "(an array of objects, or `table.path` to one; nested objects as dotted columns) and XLSX "
    "(first sheet or `table.sheet`). `table.columns` maps a column to a field (`provider.name`, "
    "`min_amount.currency`, `id` = the row's stable key, `null` = ignore); columns named like a "
    "field map by themselves; others are reported as unmapped.",
)
