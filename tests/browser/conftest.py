"""A live Tradepoint for browser tests: demo data, a real SMTP server, an agency key, a fixture
site to add as a source, `tradepoint serve` in a subprocess, and Debian's Chromium via Playwright.

The browser tests skip (never fail) where Chromium or Playwright is missing. On a failing test
the page's screenshot and HTML go to `test-artifacts/`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from search_api.store import Store
from search_api.store.keys import create_key
from tests.conftest import SITES, SiteServer, start_site
from tests.support import Mailbox, free_port, smtp_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Generous: two cores shared by several test runs; a slow first render must not fail a test.
TIMEOUT_MS = 30_000
# Chromium's own background traffic (updates, sync, QUIC probes) is refused on these machines
# and can stall a launch; none of it is needed to render our pages.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AGENCY = "browser_agency"
SERVE = [sys.executable, "-m", "search_api.cli", "serve"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real Chromium (tests/browser)")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


# --------------------------------------------------------------------------- SMTP


@pytest.fixture(scope="package")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


# --------------------------------------------------------------------------- live server


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    agency_key: str
    mailbox: Mailbox
    site: SiteServer
    log: Path


def _child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPOINT_")}
    env.update(
        TRADEPOINT_DATA_DIR=str(data_dir),
        TRADEPOINT_LOG_LEVEL="WARNING",
        TRADEPOINT_CRAWL_DELAY="0",
        TRADEPOINT_ALLOW_PRIVATE_HOSTS="1",
        **extra,
    )
    return env


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tradepoint serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"tradepoint serve did not answer within 90 s:\n{log.read_text()}")


def _start_server(
    data_dir: Path, mailbox: Mailbox, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """`tradepoint serve` on a free port; tries again if another process took the port first."""
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = _child_env(
            data_dir,
            TRADEPOINT_BASE_URL=url,
            TRADEPOINT_SMTP_HOST="127.0.0.1",
            TRADEPOINT_SMTP_PORT=str(mailbox.port),
            TRADEPOINT_SMTP_FROM="Tradepoint <alerts@tradepoint.example>",
        )
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*SERVE, "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_up(proc, url, log)
        except RuntimeError:
            _stop(proc)
            if "address already in use" in log.read_text().lower():
                continue
            raise
        return proc, url
    raise RuntimeError(f"no free port for tradepoint serve:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# Package scope: one populated server for all browser tests, stopped before the rest of the suite.
@pytest.fixture(scope="package")
def live_server(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[LiveServer]:
    """`tradepoint demo --no-serve` data served by `tradepoint serve` on a free loopback port."""
    root = tmp_path_factory.mktemp("browser")
    data_dir = root / "var"
    # The real demo: the bundled site crawled by the real crawler, the starter catalogue loaded
    # through the same pipeline, everything indexed.
    demo = subprocess.run(
        [sys.executable, "-m", "search_api.cli", "demo", "--no-serve"],
        env=_child_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if demo.returncode != 0:
        raise RuntimeError(f"tradepoint demo failed:\n{demo.stdout}\n{demo.stderr}")
    store = Store(_sqlite_url(data_dir))
    store.migrate()
    key = create_key(store, AGENCY, "agency")
    store.close()

    site, site_server = start_site(SITES / "fairs")
    log = root / "serve.log"
    try:
        proc, url = _start_server(data_dir, mailbox, log)
    except BaseException:
        site_server.shutdown()
        raise
    try:
        yield LiveServer(url, data_dir, key, mailbox, site, log)
    finally:
        _stop(proc)
        site_server.shutdown()
        site_server.server_close()


def _sqlite_url(data_dir: Path) -> str:
    from search_api.settings import Settings

    return Settings(data_dir=data_dir, database_url=None).sqlalchemy_url


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="package")
def browser_available() -> None:
    reason = missing_browser()
    if reason:
        pytest.skip(f"browser tests need Chromium and Playwright: {reason}")


@pytest.fixture(scope="package")
def browser(browser_available: None) -> Iterator[Browser]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        # launch() gives each run a fresh, temporary user-data dir, removed on close.
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Tab:
    """A page plus every script the browser fetched while showing it."""

    page: Page
    scripts: list[str]


def new_tab(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    *,
    javascript: bool = False,
    **context_args: Any,
) -> Tab:
    """A fresh context (no cookies) on the live server; closed, with artifacts saved on failure,
    when the test ends. JavaScript is off unless asked for: every page must work without it."""
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=javascript, **context_args
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)

    def finish() -> None:
        _save_artifacts_on_failure(request, page)
        context.close()

    request.addfinalizer(finish)
    return Tab(page, scripts)


@pytest.fixture
def tab(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Tab:
    """A desktop-sized window."""
    return new_tab(browser, live_server, request, viewport={"width": 1280, "height": 900})


@pytest.fixture
def mobile_tab(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Tab:
    """A phone: 375x740 CSS pixels, touch, mobile layout rules."""
    return new_tab(
        browser,
        live_server,
        request,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def page(tab: Tab) -> Page:
    return tab.page


# --------------------------------------------------------------------------- artifacts


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    # Kept on the item so fixture teardown can tell whether the test body failed.
    setattr(item, f"report_{report.when}", report)
    return report


def _save_artifacts_on_failure(request: pytest.FixtureRequest, page: Page) -> None:
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.html").write_text(
            f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8"
        )
    except Exception as exc:  # a crashed page must not hide the test's own failure
        print(f"could not save the page of {request.node.nodeid}: {exc}", file=sys.stderr)
