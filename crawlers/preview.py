"""`python -m crawlers.preview`: what a proposed source would yield, writing nothing.

Reads a source spec as JSON on stdin, crawls at most TRADEPOINT_PREVIEW_MAX_PAGES pages with
the real spiders and pipeline (the SSRF guard, robots.txt and the other limits apply as in every
crawl), and prints one JSON line on stdout:
`{"records": [...], "count": n, "failed": n, "errors": [...], "notes": [...], "unmapped": {...},
"pages": n}`.
Unlike `crawlers.runner`, it never opens the store: no records, runs or outbox rows.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from pydantic import ValidationError

from search_api.domain.sources import FollowSpec, SourceSpec, format_validation_error, parse_source
from search_api.settings import Settings

log = logging.getLogger(__name__)

MAX_RECORDS = 100


def preview_spec(spec: SourceSpec, max_pages: int) -> SourceSpec:
    """The spec with link following capped, so the spiders schedule no more than the budget."""
    follow = spec.follow or FollowSpec()
    follow = follow.model_copy(update={"max_pages": min(follow.max_pages, max_pages)})
    return spec.model_copy(update={"follow": follow})


def preview_settings(settings: Settings) -> Settings:
    from search_api.services.sources import preview_budget

    hosts = 5  # robots.txt answers count as pages for Scrapy's page limit
    return settings.model_copy(
        update={
            "crawl_max_pages": settings.preview_max_pages + hosts,
            "crawl_timeout": preview_budget(settings),
        }
    )


def result(collector: Any, max_records: int = MAX_RECORDS) -> dict[str, Any]:
    records = list(collector.records.values())
    return {
        "records": [r.model_dump(mode="json", exclude_none=True) for r in records[:max_records]],
        "count": len(records),
        "failed": collector.failed,
        "errors": list(collector.errors),
        "notes": list(collector.notes),
        "unmapped": dict(collector.unmapped),
        "pages": collector.pages,
    }


def _failure(message: str) -> dict[str, Any]:
    return {
        "records": [],
        "count": 0,
        "failed": 0,
        "errors": [{"url": "", "message": message}],
        "notes": [],
        "unmapped": {},
        "pages": 0,
    }


def run_preview(settings: Settings, raw: str) -> dict[str, Any]:
    from crawlers.runner import crawl_in_this_process

    try:
        spec = parse_source(json.loads(raw))
    except ValueError as exc:  # ValidationError is a ValueError too
        detail = (
            format_validation_error(exc).replace("\n", "; ")
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        return _failure(f"invalid source: {detail}")
    spec = preview_spec(spec, settings.preview_max_pages)
    try:
        collector = crawl_in_this_process(preview_settings(settings), spec)
    except Exception as exc:
        log.exception("preview crawl failed", extra={"source": spec.id})
        return _failure(f"{type(exc).__name__}: {exc}")
    return result(collector)


def main() -> int:
    settings = Settings()
    from search_api.logs import setup_logging

    setup_logging(settings)
    raw = sys.stdin.read()
    # Only the result goes to stdout, whatever a library prints while crawling.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        out = run_preview(settings, raw)
    finally:
        sys.stdout = real_stdout
    print(json.dumps(out, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
