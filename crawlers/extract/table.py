"""Rows of CSV, JSON and XLSX tables, and their columns mapped to record fields.

Pure: no Scrapy, no network. Readers never raise; they return the rows they could read and a
message for what they could not. Each row keeps its position (`row`: the spreadsheet row number,
header = 1; the item number for JSON), so errors can point at it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from crawlers.extract.fields import field_names

__all__ = [
    "TableResult",
    "decode_text",
    "detect_format",
    "map_columns",
    "only_list",
    "read_table",
]

TABLE_FORMATS = ("csv", "json", "xlsx")
MAX_ROWS = 100_000
_SNIFF_BYTES = 8192


@dataclass
class TableResult:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    format: str = ""


def only_list(doc: Mapping[Any, Any], setting: str) -> tuple[list[Any] | None, str | None]:
    """The list a JSON object holds when it holds exactly one ({"data": [...]} is common
    enough to need no path), else None and what to set: `setting`, the option naming it."""
    keys = [k for k, v in doc.items() if isinstance(v, list)]
    if len(keys) == 1:
        return doc[keys[0]], None
    return None, (
        f"the JSON document is an object, not a list: set {setting} to the list of records "
        f"(keys: {', '.join(sorted(map(str, doc))[:10])})"
    )


def decode_text(body: bytes, encoding: str | None = None) -> str:
    """The source's `encoding` when it states one (cp949, shift_jis, ...); else UTF-8 with or
    without BOM; otherwise Windows-1252 (what "Latin-1" spreadsheets from Excel really are),
    and Latin-1 for the bytes cp1252 leaves undefined."""
    if encoding:
        # A BOM says more than a setting: a UTF-8 file stays readable if the publisher
        # changes its export.
        if body.startswith(b"\xef\xbb\xbf"):
            return body[3:].decode("utf-8", errors="replace")
        return body.decode(encoding, errors="replace")
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def detect_format(body: bytes, url: str, content_type: str | None = None) -> str:
    """csv, json or xlsx: from the URL's extension, then the Content-Type, then the bytes."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower().lstrip(".")
    if suffix in TABLE_FORMATS:
        return suffix
    if suffix in ("tsv", "txt"):
        return "csv"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if "spreadsheetml" in ctype or ctype == "application/vnd.ms-excel":
        return "xlsx"
    if ctype.endswith("json"):
        return "json"
    if ctype in ("text/csv", "text/tab-separated-values"):
        return "csv"
    if body.startswith(b"PK\x03\x04"):
        return "xlsx"
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def _clean_header(name: object, n: int) -> str:
    text = re.sub(r"\s+", " ", str(name if name is not None else "")).strip()
    return text or f"column {n}"


def _width(row: list[Any]) -> int:
    return sum(1 for c in row if _filled(c))


def find_header(grid: list[list[Any]], header_row: int | None = None) -> int | None:
    """Index of the header row: `header_row` (1-based) when the source says; else the first
    non-empty row, after a preamble. A preamble is what spreadsheets exported for people
    carry above the table ("Last updated: June 23, 2014",,,,): rows of one filled cell
    followed by rows of several."""
    if header_row is not None:
        return header_row - 1 if header_row - 1 < len(grid) else None
    filled = [i for i, row in enumerate(grid) if _width(row) > 0]
    if not filled:
        return None
    first = filled[0]
    if _width(grid[first]) > 1:
        return first
    # One filled cell: a title above the table when a wider row follows soon (a one-column
    # table has no wider row).
    wider = next((i for i in filled[1:20] if _width(grid[i]) > 1), None)
    return wider if wider is not None else first


def _rows_from_grid(
    grid: list[list[Any]],
    result: TableResult,
    first_row_number: int = 1,
    header_row: int | None = None,
) -> TableResult:
    """The header row (see find_header) names the columns; wholly empty rows are skipped."""
    header_at = find_header(grid, header_row)
    if header_at is None:
        result.errors.append(
            "the table is empty" if header_row is None else f"no row {header_row} in the table"
        )
        return result
    result.columns = [_clean_header(c, n) for n, c in enumerate(grid[header_at], 1)]
    for i, row in enumerate(grid[header_at + 1 :], header_at + 1):
        if not any(_filled(c) for c in row):
            continue
        if len(result.rows) >= MAX_ROWS:
            result.errors.append(f"more than {MAX_ROWS} rows; the rest were not read")
            break
        values = dict(zip(result.columns, row, strict=False))
        extra = row[len(result.columns) :]
        if any(_filled(c) for c in extra):
            result.errors.append(
                f"row {i + first_row_number}: {len(row)} cells but {len(result.columns)} "
                "columns; the extra cells were not read"
            )
        result.rows.append((i + first_row_number, values))
    return result


def _filled(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def read_csv(
    body: bytes,
    delimiter: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> TableResult:
    result = TableResult(format="csv")
    text = decode_text(body, encoding).replace("\x00", "")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        grid = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        result.errors.append(f"not a readable CSV file: {exc}")
        return result
    return _rows_from_grid(grid, result, header_row=header_row)


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"provider": {"name": "X"}} -> {"provider.name": "X"}: nested objects map like columns."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _at_path(doc: Any, path: str) -> tuple[Any, str | None]:
    node = doc
    for step in (s for s in path.split(".") if s):
        if isinstance(node, Mapping) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None, f"path {path!r}: no {step!r} in the document"
    return node, None


def read_json(body: bytes, path: str | None = None, encoding: str | None = None) -> TableResult:
    result = TableResult(format="json")
    try:
        doc = json.loads(decode_text(body, encoding))
    except (json.JSONDecodeError, RecursionError) as exc:
        result.errors.append(f"not valid JSON: {exc}")
        return result
    if path:
        doc, problem = _at_path(doc, path)
        if problem:
            result.errors.append(problem)
            return result
    elif isinstance(doc, Mapping):
        doc, problem = only_list(doc, "table.path")
        if problem:
            result.errors.append(problem)
            return result
    if not isinstance(doc, list):
        result.errors.append(f"expected an array of objects, found {type(doc).__name__}")
        return result
    columns: dict[str, None] = {}
    for n, obj in enumerate(doc[:MAX_ROWS], 1):
        if not isinstance(obj, Mapping):
            result.errors.append(f"item #{n} is not an object")
            continue
        flat = _flatten(obj)
        columns.update(dict.fromkeys(flat))
        result.rows.append((n, flat))
    result.columns = list(columns)
    return result


def read_xlsx(body: bytes, sheet: str | None = None, header_row: int | None = None) -> TableResult:
    result = TableResult(format="xlsx")
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike mean "unreadable"
        result.errors.append(f"not a readable XLSX file: {type(exc).__name__}: {exc}")
        return result
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            result.errors.append(
                f"no sheet named {sheet!r} (sheets: {', '.join(workbook.sheetnames)})"
            )
            return result
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        grid = []
        for row in worksheet.iter_rows(values_only=True):
            grid.append([_cell(c) for c in row])
            if len(grid) > MAX_ROWS + 1:
                break
    except Exception as exc:
        result.errors.append(f"not a readable XLSX file: {type(exc).__name__}: {exc}")
        return result
    finally:
        workbook.close()
    return _rows_from_grid(grid, result, header_row=header_row)


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_table(
    body: bytes,
    fmt: str,
    *,
    path: str | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> TableResult:
    if fmt == "xlsx":
        return read_xlsx(body, sheet, header_row)
    if fmt == "json":
        return read_json(body, path, encoding)
    return read_csv(body, delimiter, encoding, header_row)


def _as_field(column: str) -> str:
    """ "HS codes" -> "hs_codes", "Provider.Name" -> "provider.name"."""
    parts = [re.sub(r"[^\w]+", "_", p.strip().casefold()).strip("_") for p in column.split(".")]
    return ".".join(parts)


def map_columns(
    row: Mapping[str, Any], kind: str, columns: Mapping[str, str | None] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(record field -> value, names of columns that map to nothing).

    `columns` maps a column to a field (null: ignore the column). Other columns whose name is a
    field's ("Title", "HS codes", "provider.name") map to it; `id` is the row's natural key.
    """
    known = field_names(kind) | {"id"}
    mapping = dict(columns or {})
    out: dict[str, Any] = {}
    unmapped: list[str] = []
    for column, value in row.items():
        if column in mapping:
            target = mapping[column]
            if target:
                out[target] = value
            continue
        guess = _as_field(column)
        if guess in known:
            out[guess] = value
        else:
            unmapped.append(column)
    return out, unmapped
