"""Helpers shared by the tests of the source formats (tests/test_formats_*.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from search_api.domain.records import AnyRecord
from search_api.domain.sources import SourceSpec
from search_api.search.base import SearchBackend, SearchQuery
from search_api.search.indexer import drain_outbox
from search_api.services.crawls import CrawlOutcome, run_crawl
from search_api.settings import Settings
from search_api.store import Store

from .conftest import SITES, SiteServer, start_site


@contextmanager
def serve_copy(name: str, tmp_path: Path) -> Iterator[SiteServer]:
    """The fixture site `name`, copied so that a test may add or change files."""
    root = tmp_path / f"site-{name}"
    shutil.copytree(SITES / name, root)
    site, server = start_site(root)
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def make_spec(**kw: Any) -> SourceSpec:
    data: dict[str, Any] = {"name": "Fixture source", "min_items": 1}
    data.update(kw)
    return SourceSpec.model_validate(data)


def crawl(settings: Settings, store: Store, spec: SourceSpec) -> CrawlOutcome:
    store.add_source(spec, replace=True)
    return run_crawl(settings, spec.id, store)


def records_of(store: Store, source_id: str) -> dict[str, AnyRecord]:
    """Records of one source by title."""
    return {r.title: r for r in store.iter_records() if r.source_id == source_id}


def errors_of(store: Store, outcome: CrawlOutcome) -> list[dict[str, str]]:
    return list(store.get_run(outcome.run_id).errors)


def search_ids(store: Store, backend: SearchBackend, **query: Any) -> set[str]:
    """Index what the crawl wrote (as `serve` does), then search the index."""
    drain_outbox(store, backend)
    result = backend.search(SearchQuery(size=100, **query))
    return {item["id"] for item in result.items}
