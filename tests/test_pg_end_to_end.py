"""The end-to-end flow on PostgreSQL gives the same answers as on SQLite: a real crawl of the
fixture fair site, the outbox drained into the index, searches over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search import create_backend
from search_api.search.indexer import drain_outbox
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.sites import SiteServer
from tests.helpers.sources import html_source

QUERIES = [
    "/api/v1/search?size=100",
    "/api/v1/search?q=packaging&size=100",
    "/api/v1/search?q=coffee+cocoa",
    "/api/v1/search?market=FR,DE&sector=packaging",
    "/api/v1/search?market=EU&sort=-date",
    "/api/v1/search?date_from=2027-03-01&date_to=2027-06-30&size=5&page=2",
    "/api/v1/fairs?date_from=2026-01-01",
]
# Set by the crawl, so different in every run.
VOLATILE = {"first_seen", "last_seen", "last_changed"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _serve(
    tmp_path: Path, site: SiteServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    env = {
        "TRADEPOINT_DATA_DIR": str(tmp_path),
        "TRADEPOINT_DATABASE_URL": database_url,
        "TRADEPOINT_ALLOW_PRIVATE_HOSTS": "1",  # the fixture site is on loopback
        "TRADEPOINT_CRAWL_DELAY": "0",
        "TRADEPOINT_LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    store, backend = Store(settings.sqlalchemy_url), create_backend(settings)
    store.migrate()
    try:
        store.add_source(html_source(site))
        # explicit env: the crawl child must write where this side's store reads
        outcome = run_crawl(settings, "xx_fixture_fairs", store, env=env)
        assert outcome.ok, outcome.message
        assert drain_outbox(store, backend) > 0
        app = create_app(settings, store=store, backend=backend, background_indexer=False)
        with TestClient(app) as client:
            yield client
    finally:
        backend.close()
        store.close()


@pytest.mark.crawl
def test_postgresql_and_sqlite_give_the_same_results(
    tmp_path: Path, fair_site: SiteServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: dict[str, list[Any]] = {}
    for name, url in (("postgresql", pg_url), ("sqlite", "")):
        for client in _serve(tmp_path / name, fair_site, url, monkeypatch):
            store = client.app.state.store  # type: ignore[attr-defined]
            assert store.engine.dialect.name == name
            answers[name] = []
            for query in QUERIES:
                resp = client.get(query)
                assert resp.status_code == 200, (query, resp.text)
                answers[name].append(_stable(resp.json()))
    assert answers["postgresql"][0]["total"] >= 10
    assert answers["postgresql"] == answers["sqlite"]
