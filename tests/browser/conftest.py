"""A live Tradepoint for browser tests: demo data, a real SMTP server, an agency key, a fixture
site to add as a source, `tradepoint serve` in a subprocess, and Debian's Chromium via Playwright.

The browser tests skip (never fail) where Chromium or Playwright is missing. On a failing test
the page's screenshot and HTML go to `test-artifacts/`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.browser import (
    AGENCY,
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    LiveServer,
    Tab,
    child_env,
    missing_browser,
    new_tab,
    sqlite_url,
    start_server,
    stop,
)
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.once import built_once
from tests.helpers.sites import SITES, start_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# --------------------------------------------------------------------------- SMTP


@pytest.fixture(scope="package")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


# --------------------------------------------------------------------------- live server


def run_demo(root: Path) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "search_api.cli", "demo", "--no-serve"],
        env=child_env(root / "var"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if demo.returncode != 0:
        raise RuntimeError(f"tradepoint demo failed:\n{demo.stdout}\n{demo.stderr}")


# Package scope: one populated server for all browser tests, stopped before the rest of the suite.
@pytest.fixture(scope="package")
def live_server(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[LiveServer]:
    """`tradepoint demo --no-serve` data served by `tradepoint serve` on a free loopback port."""
    root = tmp_path_factory.mktemp("browser")
    # The real demo: the bundled site crawled by the real crawler, the starter catalogue loaded
    # through the same pipeline, everything indexed; made once, each test process serving a copy.
    demo = built_once(tmp_path_factory, "browser-demo", run_demo)
    data_dir = root / "var"
    shutil.copytree(demo / "var", data_dir)
    store = Store(sqlite_url(data_dir))
    store.migrate()
    key = create_key(store, AGENCY, "agency")
    store.close()

    site, site_server = start_site(SITES / "fairs")
    log = root / "serve.log"
    try:
        proc, url = start_server(data_dir, mailbox, log)
    except BaseException:
        site_server.shutdown()
        raise
    try:
        yield LiveServer(url, data_dir, key, mailbox, site, log)
    finally:
        stop(proc)
        site_server.shutdown()
        site_server.server_close()


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
