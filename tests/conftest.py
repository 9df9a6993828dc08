"""Shared fixtures: a local HTTP server for fixture sites, a data dir, a store, an app client."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search import create_backend
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests import pg_server  # imported at collection: it reads TRADEPOINT_DATABASE_URL then

FIXTURES = Path(__file__).parent / "fixtures"
SITES = FIXTURES / "sites"


def shared_dir() -> Path:
    """The shared corpora: TRADEPOINT_SHARED_DIR, else the nearest `shared/` above the checkout
    that holds `realworld/` (a worktree lives deeper than the main checkout)."""
    env = os.environ.get("TRADEPOINT_SHARED_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "shared" / "realworld").is_dir():
            return parent / "shared"
    return here.parents[2] / "shared"


REALWORLD = shared_dir() / "realworld"


@dataclass
class SiteServer:
    """A loopback HTTP server over a directory that remembers every path requested."""

    root: Path
    base_url: str = ""
    requested: list[str] = field(default_factory=list)
    user_agents: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


class _Handler(SimpleHTTPRequestHandler):
    site: SiteServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.site.requested.append(self.path)
        self.site.user_agents.add(self.headers.get("User-Agent", ""))
        super().do_GET()

    def guess_type(self, path: str | Path) -> str:
        if str(path).endswith(".ics"):
            return "text/calendar"
        return super().guess_type(path)


def start_site(root: Path) -> tuple[SiteServer, ThreadingHTTPServer]:
    site = SiteServer(root)
    handler_cls = type("Handler", (_Handler,), {"site": site})
    handler = functools.partial(handler_cls, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server


@pytest.fixture
def fair_site(tmp_path: Path) -> Iterator[SiteServer]:
    """The fixture fair calendar, copied so a test may edit pages between crawls."""
    root = tmp_path / "site"
    shutil.copytree(SITES / "fairs", root)
    site, server = start_site(root)
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on a fresh data dir; also exported, because crawls run in child processes."""
    data_dir = tmp_path / "var"
    env = {
        "TRADEPOINT_DATA_DIR": str(data_dir),
        "TRADEPOINT_ALLOW_PRIVATE_HOSTS": "1",
        "TRADEPOINT_CRAWL_DELAY": "0",
        "TRADEPOINT_LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TRADEPOINT_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRADEPOINT_ELASTICSEARCH_URL", raising=False)
    return Settings()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped afterwards (tests/pg_server.py);
    skips the test, with the reason, when no PostgreSQL server can be had."""
    yield from pg_server.fresh_database()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store(settings.sqlalchemy_url)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def backend(settings: Settings) -> Iterator[SearchBackend]:
    b = create_backend(settings)
    yield b
    b.close()


@pytest.fixture
def client(settings: Settings, store: Store, backend: SearchBackend) -> Iterator[TestClient]:
    app = create_app(settings, store=store, backend=backend, background_indexer=False)
    with TestClient(app) as c:
        yield c
