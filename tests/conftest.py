"""Fixtures for the whole suite, and the hooks that mark the tiers (see README: the markers
`crawl`, `postgres`, `e2e`, `browser`). Support code lives in tests/helpers/."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import crawlers.runner
import search_api.services.crawls
import search_api.services.sources
from search_api.app import create_app
from search_api.search import create_backend
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers import pg_server  # imported at collection: it reads TRADEPOINT_DATABASE_URL then
from tests.helpers.crawling import InProcessChildren, crawl_here
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.sites import SITES, SiteServer, start_site, stop_site
from tests.helpers.stored import unclean_rows
from tests.helpers.subscriptions import BASE_URL
from tests.helpers.webhooks import Receiver, running_receiver

TESTS = Path(__file__).resolve().parent
DATABASE_MARKS = {"postgresql": pytest.mark.postgres}


# --------------------------------------------------------------------------- tiers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # `@pytest.mark.databases("sqlite", "postgresql")` runs a test once per database (through
    # the `database` fixture, which `settings` and so `store` and `client` depend on).
    marker = metafunc.definition.get_closest_marker("databases")
    if marker is not None and "database" in metafunc.fixturenames:
        metafunc.parametrize(
            "database",
            [pytest.param(name, marks=DATABASE_MARKS.get(name, ())) for name in marker.args],
            indirect=True,
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if TESTS / "browser" in path.parents:
            item.add_marker(pytest.mark.browser)
        fixtures = getattr(item, "fixturenames", ())
        # Crawl processes, and the browser tests' server whose demo data a crawl made.
        crawls = item.get_closest_marker("crawl_process") or "live_server" in fixtures
        if crawls and not item.get_closest_marker("crawl"):
            item.add_marker(pytest.mark.crawl)
        if "pg_url" in fixtures and not item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _crawls_in_this_process(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InProcessChildren | None]:
    """Crawl and preview processes run in this process (tests/helpers/crawling.py), except for
    tests marked `crawl_process`, which test the child process itself."""
    if request.node.get_closest_marker("crawl_process"):
        yield None
        return
    children = InProcessChildren()
    if request.node.get_closest_marker("crawl") is None:
        children.refuse = "a test that crawls must be marked `crawl`"
    monkeypatch.setattr(search_api.services.crawls, "subprocess", children)
    monkeypatch.setattr(search_api.services.crawls, "warm", children)
    monkeypatch.setattr(search_api.services.sources, "subprocess", children)
    # Whatever would start a reactor in this process crawls on the running one instead.
    monkeypatch.setattr(crawlers.runner, "crawl_in_this_process", crawl_here)
    yield children
    stuck = children.wait_for_background()
    assert not stuck, f"{len(stuck)} crawl(s) started by the test still running"
    if children.refuse and children.crawls:
        pytest.fail(f"{children.refuse}: it ran {children.crawls} crawl(s)")


# --------------------------------------------------------------------------- sites


@pytest.fixture(scope="session")
def fixture_sites() -> Iterator[Callable[[str], SiteServer]]:
    """tests/fixtures/sites/<name>, each served read-only on its own port for the session."""
    servers: dict[str, tuple[SiteServer, ThreadingHTTPServer]] = {}

    def serve(name: str) -> SiteServer:
        if name not in servers:
            servers[name] = start_site(SITES / name)
        site = servers[name][0]
        site.forget()
        return site

    yield serve
    for _, server in servers.values():
        stop_site(server)


@pytest.fixture
def fair_site(fixture_sites: Callable[[str], SiteServer]) -> SiteServer:
    """The fixture fair calendar, read-only, its request log cleared for this test."""
    return fixture_sites("fairs")


@pytest.fixture
def editable_fair_site(tmp_path: Path) -> Iterator[SiteServer]:
    """The fixture fair calendar copy-on-write, for a test that changes pages between crawls
    (`site.page("fairs/x.html")`)."""
    site, server = start_site(SITES / "fairs", overlay=tmp_path / "site")
    yield site
    stop_site(server)


# --------------------------------------------------------------------------- app


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """The database `settings` points at: sqlite, or postgresql for a test run on both
    (`@pytest.mark.databases`)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str, request: pytest.FixtureRequest
) -> Settings:
    """Settings on a fresh data dir (and a fresh PostgreSQL database when `database` says so);
    also exported, like a caller's settings reach its crawl processes."""
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
    if database == "postgresql":
        monkeypatch.setenv("TRADEPOINT_DATABASE_URL", request.getfixturevalue("pg_url"))
    return Settings()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped afterwards (tests/helpers/pg_server.py);
    skips the test, with the reason, when no PostgreSQL server can be had."""
    if request.node.get_closest_marker("postgres") is None:
        # Else `-m "not postgres"` would still start a server for it.
        pytest.fail("a test on PostgreSQL must be marked `postgres`")
    yield from pg_server.fresh_database()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database the migrations built, once per test process: most tests start from a
    copy, as running the migrations costs more than many a test (tests/test_migrations.py tests
    the migrations themselves)."""
    path = tmp_path_factory.mktemp("migrated") / "tradepoint.db"
    s = Store(f"sqlite:///{path}")
    assert s.migrate() == "created"
    s.close()
    return path


@pytest.fixture
def store(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Store]:
    db_file = settings.data_dir / "tradepoint.db"
    if settings.database_url is None and not db_file.exists():
        db_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), db_file)
    s = Store(settings.sqlalchemy_url)
    s.migrate()  # a no-op on the copy; PostgreSQL databases start empty and are migrated here
    yield s
    try:
        # Whatever the test wrote, by whichever path: stored text is clean (tests/helpers/stored.py)
        unclean = unclean_rows(s)
        assert not unclean, f"stored records hold text the model would clean: {unclean[:5]}"
    finally:
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


# --------------------------------------------------------------------------- mail


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a loopback port and what it received."""
    with smtp_server() as box:
        yield box


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_from": "Tradepoint <alerts@tradepoint.example>",
            "base_url": BASE_URL,
        }
    )


@pytest.fixture
def mail_client(
    mail_settings: Settings, store: Store, backend: SearchBackend
) -> Iterator[TestClient]:
    app = create_app(mail_settings, store=store, backend=backend, background_indexer=False)
    with TestClient(app) as c:
        yield c


# --------------------------------------------------------------------------- webhooks


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback webhook endpoint verifying every signature (tests/helpers/webhooks.py)."""
    with running_receiver() as rec:
        yield rec


@pytest.fixture
def hook_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in {
        "TRADEPOINT_WEBHOOK_TIMEOUT_SECONDS": "1",
        "TRADEPOINT_WEBHOOK_RETRY_BASE_SECONDS": "1",
        "TRADEPOINT_WEBHOOK_RETRY_MAX_SECONDS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    return Settings()


@pytest.fixture
def api(hook_settings: Settings, store: Store, backend: SearchBackend) -> Iterator[TestClient]:
    app = create_app(hook_settings, store=store, backend=backend, background_indexer=False)
    with TestClient(app) as c:
        yield c
