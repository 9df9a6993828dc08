"""Driving the app in a real browser: Debian's Chromium through Playwright, against
`tradepoint serve` in a subprocess (tests/browser)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.helpers.mail import Mailbox
from tests.helpers.net import free_port
from tests.helpers.sites import REPO, SiteServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
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


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    agency_key: str
    mailbox: Mailbox
    site: SiteServer
    log: Path


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPOINT_")}
    env.update(
        TRADEPOINT_DATA_DIR=str(data_dir),
        TRADEPOINT_LOG_LEVEL="WARNING",
        TRADEPOINT_CRAWL_DELAY="0",
        TRADEPOINT_ALLOW_PRIVATE_HOSTS="1",
        **extra,
    )
    return env


def wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
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


def start_server(
    data_dir: Path, mailbox: Mailbox, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """`tradepoint serve` on a free port; tries again if another process took the port first."""
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = child_env(
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
            wait_until_up(proc, url, log)
        except RuntimeError:
            stop(proc)
            if "address already in use" in log.read_text().lower():
                continue
            raise
        return proc, url
    raise RuntimeError(f"no free port for tradepoint serve:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def sqlite_url(data_dir: Path) -> str:
    from search_api.settings import Settings

    return Settings(data_dir=data_dir, database_url=None).sqlalchemy_url


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
        save_artifacts_on_failure(request, page)
        context.close()

    request.addfinalizer(finish)
    return Tab(page, scripts)


def save_artifacts_on_failure(request: pytest.FixtureRequest, page: Page) -> None:
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
