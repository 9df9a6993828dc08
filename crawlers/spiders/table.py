"""Tables (CSV, JSON, XLSX): one record per row, columns mapped by the source's `table` options.

A cell that cannot be read (a bad date, an unknown country) is left out of its record and
reported with the row number; the row itself is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from scrapy.http import Response

from crawlers.extract.fields import coerce_fields
from crawlers.extract.table import detect_format, map_columns, read_table
from crawlers.normalise.urls import canonicalise
from crawlers.spiders.base import SourceSpider


def row_key(values: dict[str, Any], shared_urls: Counter[str | None]) -> str:
    """The `id` column if there is one, else the row's own URL, else what the row says."""
    if values.get("id") not in (None, ""):
        return f"id:{values['id']}"
    url = values.get("url")
    if url and shared_urls[url] == 1:
        return f"url:{url}"
    parts = ("url", "title", "start_date", "effective_date")
    return "|".join(str(values.get(p) or "") for p in parts)


class TableSpider(SourceSpider):
    name = "table"

    def parse_page(self, response: Response) -> Iterable[Any]:
        options = self.spec.table
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        fmt = (options.format if options else None) or detect_format(
            response.body, response.url, content_type
        )
        result = read_table(
            response.body,
            fmt,
            path=options.path if options else None,
            sheet=options.sheet if options else None,
            delimiter=options.delimiter if options else None,
        )
        for message in result.errors:
            self.collector.add_error(response.url, message)
        columns = options.columns if options else {}
        # Reported once per table, not once per row: it is the table's shape that drifted.
        _, unmapped = map_columns(dict.fromkeys(result.columns), self.spec.kind, columns)
        if unmapped:
            self.collector.note_unmapped([f"column: {c}" for c in unmapped])
        rows = []
        for number, row in result.rows:
            values, _ = map_columns(row, self.spec.kind, columns)
            rows.append((number, values))
        shared = Counter(canonicalise(str(v.get("url") or "")) for _, v in rows)
        label = "item" if result.format == "json" else "row"
        for number, values in rows:
            coerced = coerce_fields(
                {k: v for k, v in values.items() if k != "id"},
                self.spec.kind,
                base_url=response.url,
            )
            for problem in coerced.problems:
                self.collector.add_error(response.url, f"{label} {number}: {problem}")
            if not coerced.values.get("title") and not self.spec.defaults.get("title"):
                # said here, with the row number, rather than as an anonymous validation error
                self.collector.failed += 1
                self.collector.add_error(response.url, f"{label} {number}: no title; skipped")
                continue
            key_values = {**coerced.values, "id": values.get("id")}
            yield {
                **coerced.values,
                "_key": row_key(key_values, shared),
                "_page": response.url,
                "unmapped": coerced.unmapped,
            }
