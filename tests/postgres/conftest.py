"""The store, API, keys, runs, outbox, subscription and digest tests again, on PostgreSQL.

Each module here imports the test functions of one SQLite-run module; the `settings` fixture
below points them (and the crawl child processes they start) at a fresh PostgreSQL database.
They skip, with the reason, when no PostgreSQL server can be started (tests/pg_server.py).
"""

from __future__ import annotations

import pytest

from search_api.settings import Settings


@pytest.fixture
def settings(settings: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Exported like the rest of the settings: crawls run in child processes.
    monkeypatch.setenv("TRADEPOINT_DATABASE_URL", pg_url)
    return Settings()
