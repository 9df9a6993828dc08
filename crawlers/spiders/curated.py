"""Curated records: a YAML file (`records:` list) or a CSV file of records maintained by hand.

A CSV file has one column per record field (nested ones dotted: provider.name, min_amount.value)
and list fields separated by `;` or `,`. Values are read strictly: what cannot be read stays as
written, so that the record fails validation naming the field, as a YAML record would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import yaml
from scrapy.http import Response

from crawlers.extract.fields import coerce_fields
from crawlers.extract.language import language_problem
from crawlers.extract.table import read_csv
from crawlers.spiders.base import SourceSpider

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CuratedSpider(SourceSpider):
    name = "curated"

    def parse_page(self, response: Response) -> Iterable[Any]:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        if urlsplit(response.url).path.lower().endswith(".csv") or "text/csv" in content_type:
            yield from self._parse_csv(response)
            return
        try:
            doc = yaml.safe_load(response.body)
        except yaml.YAMLError as exc:
            self.collector.add_error(response.url, f"not valid YAML: {exc}")
            return
        records = doc.get("records") if isinstance(doc, dict) else doc
        if not isinstance(records, list):
            self.collector.add_error(response.url, "expected a list of records under `records:`")
            return
        file_as_of = doc.get("as_of") if isinstance(doc, dict) else None
        for n, rec in enumerate(records, 1):
            if not isinstance(rec, dict):
                self.collector.failed += 1
                self.collector.add_error(response.url, f"record #{n} is not a mapping")
                continue
            item = {k: v for k, v in rec.items() if k != "id"}
            if file_as_of and not item.get("as_of"):
                item["as_of"] = file_as_of
            slug = str(rec.get("id") or "").strip()
            if slug and not _SLUG.match(slug):
                self.collector.failed += 1
                self.collector.add_error(
                    response.url,
                    f"record #{n}: id {slug!r} may only contain letters, digits, '.', '_' and '-'",
                )
                continue
            item["_id"] = slug or None
            item["_key"] = slug or f"{rec.get('url')}|{rec.get('title')}"
            item["_page"] = response.url
            problem = language_problem(rec.get("language"))
            if problem:
                # The record model drops a tag it cannot read without a word; a person wrote
                # this one, so tell them.
                self.collector.add_error(
                    response.url, f"record #{n}: language: {problem}; left out"
                )
            yield item

    def _parse_csv(self, response: Response) -> Iterable[Any]:
        table = read_csv(response.body)
        for message in table.errors:
            self.collector.add_error(response.url, message)
        for number, row in table.rows:
            slug = str(row.get("id") or "").strip()
            if slug and not _SLUG.match(slug):
                self.collector.failed += 1
                self.collector.add_error(
                    response.url,
                    f"row {number}: id {slug!r} may only contain letters, digits, '.', '_' and '-'",
                )
                continue
            fields = {k.strip(): v for k, v in row.items() if k.strip() != "id"}
            coerced = coerce_fields(fields, self.spec.kind, base_url=response.url, strict=True)
            # Strict coercion keeps a bad value for validation to reject; what it reports
            # instead (a language tag) would otherwise go unsaid.
            for problem in coerced.problems:
                self.collector.add_error(response.url, f"row {number}: {problem}")
            item: dict[str, Any] = dict(coerced.values)
            item["_id"] = slug or None
            item["_key"] = slug or f"{item.get('url')}|{item.get('title')}"
            item["_page"] = response.url
            item["unmapped"] = coerced.unmapped
            yield item
