"""Item pipeline: validate ► normalise ► build the record. Writing happens in the runner."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from scrapy import Spider
from scrapy.crawler import Crawler

from search_api.domain.records import (
    RECORD_MODELS,
    SYSTEM_FIELDS,
    AnyRecord,
    parse_record,
    record_id,
)
from search_api.domain.sources import SourceSpec, format_validation_error

log = logging.getLogger(__name__)

# Extraction keeps these for diagnostics; they are not record fields.
INTERNAL_KEYS = ("_key", "_page", "_id", "_rank", "categories", "unmapped", "uid")


def build_record(raw: dict[str, Any], spec: SourceSpec) -> AnyRecord:
    """Turn an extracted item into a validated record of the source's kind.

    `_key` is the natural key (the stable id is derived from it), `_id` an explicit id given by
    a curated file, `_page` the page it came from. Source `defaults` fill what the page is silent
    on. Raises ValidationError naming the field when the item cannot be a record.
    """
    data = dict(raw)
    page = data.get("_page")
    explicit = data.get("_id")
    key = data.get("_key") or f"{data.get('url') or page}|{data.get('title')}"
    for name in INTERNAL_KEYS:
        data.pop(name, None)
    for name, value in spec.defaults.items():
        if data.get(name) in (None, "", []):
            data[name] = value
        elif isinstance(value, dict) and isinstance(data[name], dict):
            # a nested default (provider.type) fills what the page left out of the object
            data[name] = {**value, **{k: v for k, v in data[name].items() if v is not None}}
    fields = RECORD_MODELS[spec.kind].model_fields
    # None means "the source is silent": the model's default applies, not a null.
    data = {
        k: v for k, v in data.items() if k in fields and k not in SYSTEM_FIELDS and v is not None
    }
    data.update(
        kind=spec.kind,
        source_id=spec.id,
        source_url=page if page and str(page).startswith("http") else None,
        id=f"{spec.id}:{explicit}" if explicit else record_id(spec.id, str(key)),
    )
    if spec.owner and spec.format == "curated":
        # Who curated a record is who owns its source, whatever a file says.
        data["curated_by"] = spec.owner
    return parse_record(data)


class RecordPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict[str, Any]:
        spider = spider or self.crawler.spider
        collector = spider.collector  # type: ignore[union-attr]
        if item.get("unmapped"):
            collector.note_unmapped(list(item["unmapped"]))
        if item.get("_page"):
            # The page's URL becomes the record's public source_url: no secret in it.
            item = {**item, "_page": collector.mask(str(item["_page"]))}
        try:
            record = build_record(item, collector.spec)
        except ValidationError as exc:
            collector.failed += 1
            what = item.get("_id") or item.get("title") or "item"
            collector.add_error(
                str(item.get("_page") or ""),
                f"{what}: {format_validation_error(exc).replace(chr(10), '; ')}",
            )
            return item
        collector.add_record(record, item.get("_rank"))
        return item
