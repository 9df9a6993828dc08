"""Curated records: a YAML file of records maintained by hand (`records:` list)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml
from scrapy.http import Response

from crawlers.spiders.base import SourceSpider

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CuratedSpider(SourceSpider):
    name = "curated"

    def parse_page(self, response: Response) -> Iterable[Any]:
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
            yield item
