"""A new user's path, through the installed `tradepoint` command in real processes:
sources add → crawl → serve → search, for a schema.org site and an iCalendar feed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crawlers.demo import SITE_DIR
from tests.helpers.net import free_port
from tests.helpers.sites import SiteServer, start_site

pytestmark = pytest.mark.e2e
TRADEPOINT = [sys.executable, "-m", "search_api.cli"]


def tp(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*TRADEPOINT, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"tradepoint {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPOINT_")}
    return {
        **keep,
        "TRADEPOINT_DATA_DIR": str(tmp_path / "var"),
        "TRADEPOINT_ALLOW_PRIVATE_HOSTS": "1",
        "TRADEPOINT_CRAWL_DELAY": "0",
        "TRADEPOINT_INDEX_POLL_SECONDS": "0.5",
    }


@pytest.fixture
def demo_site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "site"
    shutil.copytree(SITE_DIR, root)
    site, server = start_site(root)
    yield site
    server.shutdown()
    server.server_close()


@pytest.mark.crawl
def test_sources_add_crawl_serve_search(
    tmp_path: Path, env: dict[str, str], demo_site: SiteServer
) -> None:
    html_src = tmp_path / "fairs.yml"
    html_src.write_text(f"""
id: xx_demo_fairs
name: Demo calendar
kind: fair
format: schema_org
start_urls: ["{demo_site.url("/fairs/index.html")}"]
follow: {{allow: ["/fairs/"], max_pages: 20}}
min_items: 3
""")
    ics_src = tmp_path / "feed.yml"
    ics_src.write_text(f"""
id: xx_demo_feed
name: Demo feed
kind: fair
format: ical
start_urls: ["{demo_site.url("/fairs.ics")}"]
""")
    assert "added source xx_demo_fairs" in tp("sources", "add", str(html_src), env=env).stdout
    tp("sources", "add", str(ics_src), env=env)
    out = tp("crawl", "xx_demo_fairs", "xx_demo_feed", env=env).stdout
    assert "xx_demo_fairs: run 1 succeeded: 5 records: 5 new" in out
    assert "xx_demo_feed: run 2 succeeded: 3 records: 3 new" in out
    listing = tp("sources", "list", env=env).stdout
    assert "xx_demo_fairs" in listing and "succeeded" in listing

    port = free_port()
    proc = subprocess.Popen(
        [*TRADEPOINT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)

        def search(**params: str) -> list[str]:
            r = httpx.get(f"{base}/api/v1/search", params=params, timeout=10)
            assert r.status_code == 200, r.text
            return sorted(i["title"] for i in r.json()["items"])

        assert len(search(kind="fair")) == 8
        assert search(q="coffee") == ["Demo East Africa Coffee & Tea Expo 2027"]
        assert search(market="SN") == ["Demo Sahel Leather and Crafts Fair 2027"]
        assert search(market="VN", status="cancelled") == ["Demo Mekong Furniture Days 2027"]
        assert search(date_from="2027-04-01", date_to="2027-04-30") == [
            "Demo West Africa Mango and Fruit Forum 2027"
        ]
        page = httpx.get(f"{base}/search", params={"q": "spice"}, timeout=10).text
        assert "Demo Spice Route Trade Show 2027" in page
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    # Crawling again changes nothing and duplicates nothing.
    out = tp("crawl", "xx_demo_fairs", env=env).stdout
    assert "5 records: 0 new, 0 changed, 5 unchanged" in out


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(150):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "tradepoint serve exited"
        time.sleep(0.1)
    raise AssertionError("tradepoint serve did not become ready")


def test_bad_source_file_is_refused_naming_the_field(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("id: Bad Id\nname: x\nkind: fair\nformat: schema_org\nstart_urls: []\n")
    proc = tp("sources", "add", str(bad), env=env, check=False)
    assert proc.returncode == 2
    assert "id: must be 3-80 characters" in proc.stderr
    assert "start_urls: List should have at least 1 item" in proc.stderr


@pytest.mark.crawl
def test_a_failed_run_exits_non_zero(
    tmp_path: Path, env: dict[str, str], demo_site: SiteServer
) -> None:
    src = tmp_path / "s.yml"
    src.write_text(f"""
id: xx_too_few
name: Too few
kind: fair
format: ical
start_urls: ["{demo_site.url("/fairs.ics")}"]
min_items: 50
""")
    tp("sources", "add", str(src), env=env)
    proc = tp("crawl", "xx_too_few", env=env, check=False)
    assert proc.returncode == 1
    assert "failed: yielded 3 records, fewer than min_items=50; nothing changed" in proc.stdout


def test_crawl_of_unknown_source_fails_clearly(env: dict[str, str]) -> None:
    proc = tp("crawl", "no_such_source", env=env, check=False)
    assert proc.returncode == 2 and "source 'no_such_source' not found" in proc.stderr


@pytest.mark.crawl
def test_demo_populates_without_network(env: dict[str, str]) -> None:
    out = tp("demo", "--no-serve", env={**env, "TRADEPOINT_ALLOW_PRIVATE_HOSTS": "0"}).stdout
    assert "demo_fairs_schema_org: succeeded" in out
    assert "demo_fairs_ical: succeeded" in out
    assert "starter_fairs: succeeded" in out
    # Running it again updates in place: no duplicates.
    out = tp("demo", "--no-serve", env=env).stdout
    assert "demo_fairs_schema_org: succeeded: 5 records: 0 new, 0 changed, 5 unchanged" in out
    assert "demo_fairs_ical: succeeded: 3 records: 0 new, 0 changed, 3 unchanged" in out


def test_catalogue_loads_the_starter_records_in_one_command(env: dict[str, str]) -> None:
    out = tp("catalogue", env=env).stdout
    for name in ("starter_fairs", "starter_finance", "starter_requirements"):
        assert f"catalogue: {name}: succeeded" in out
    assert "demo_" not in out
