"""Crawls against a fault-injecting server: every run ends within its limits, keeps the good
records and names each bad URL in the run's errors (asserted on the run rows, not on logs).

Each test runs a real crawl (real Scrapy, on the test process's reactor, as a crawl process
would) with low limits passed through the crawl's environment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from search_api.domain.sources import SourceSpec, parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.fault_server import ICS_NAMES, WRONG_TYPE_ICS_NAMES, FaultServer, event_title
from tests.helpers.fault_server import run_fault_server as _run_fault_server

pytestmark = pytest.mark.crawl

DOWNLOAD_TIMEOUT = 1
MAX_PAGE_BYTES = 1_000_000
# Limits for the crawl; run_crawl gives up on a hung one after HARD_LIMIT seconds.
LIMITS = {
    "TRADEPOINT_DOWNLOAD_TIMEOUT": str(DOWNLOAD_TIMEOUT),
    "TRADEPOINT_CRAWL_MAX_PAGE_BYTES": str(MAX_PAGE_BYTES),
    "TRADEPOINT_CRAWL_TIMEOUT": "60",
}
HARD_LIMIT = 90.0


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with _run_fault_server() as server:
        yield server


def _source(store: Store, start_urls: list[str], **kw: Any) -> SourceSpec:
    spec = parse_source(
        {
            "id": "xx_fault_site",
            "name": "Fault site",
            "kind": "fair",
            "format": "schema_org",
            "start_urls": start_urls,
            "min_items": 1,
            **kw,
        }
    )
    store.add_source(spec)
    return spec


def _titles(store: Store, source_id: str) -> set[str]:
    return {r.title for r in store.list_records(source_id)}


def _errors_by_url(store: Store, run_id: int) -> dict[str, str]:
    errors = store.get_run(run_id).errors or []
    out: dict[str, str] = {}
    for err in errors:
        out[err["url"]] = out.get(err["url"], "") + err["message"]
    return out


def test_faulty_pages_are_reported_and_good_records_kept(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    bad = {
        "/status/500": "HTTP 500",
        "/status/503": "HTTP 503",
        "/reset": "ConnectionLost",
        "/slow": f"took longer than {DOWNLOAD_TIMEOUT}",
        "/huge": f"page size limit of {MAX_PAGE_BYTES} bytes",
        "/huge-stream": f"page size limit of {MAX_PAGE_BYTES} bytes",
        "/redirect/loop-a": "max redirections",
        "/redirect/chain/0": "max redirections",
        "/wrong/image.png": "not an HTML page (image/png)",
    }
    good = ["/good/alpha.html", "/good/beta.html", "/wrong/page", "/good/gamma.html"]
    spec = _source(store, [faults.url(p) for p in [good[0], *bad, *good[1:]]])

    started = time.monotonic()
    outcome = run_crawl(settings, spec.id, store, env=LIMITS, timeout=HARD_LIMIT)
    elapsed = time.monotonic() - started

    assert outcome.status == "succeeded", outcome.message
    # The slow page is retried twice, each attempt cut at the download timeout.
    assert elapsed < 45, f"run took {elapsed:.0f}s"
    run = store.get_run(outcome.run_id)
    assert run.finished_at is not None
    assert run.items_new == 4
    # HTML served as application/octet-stream is still read: servers mislabel pages.
    assert _titles(store, spec.id) == {
        event_title(n) for n in ("alpha", "beta", "gamma", "octet-stream")
    }
    errors = _errors_by_url(store, outcome.run_id)
    assert set(errors) == {faults.url(p) for p in bad}
    for path, fragment in bad.items():
        assert fragment in errors[faults.url(path)], (path, errors[faults.url(path)])
    # Retries are bounded (RETRY_TIMES=2): three attempts, not a retry storm.
    assert faults.count("/status/500") == 3
    assert faults.count("/redirect/chain/") == 6  # the first request and 5 redirects


def test_mislabelled_and_broken_feeds(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    bad = {"/wrong/junk.ics": "broken iCalendar", "/status/500": "HTTP 500"}
    spec = _source(
        store,
        [faults.url(p) for p in ["/good.ics", "/wrong/feed.ics", *bad]],
        format="ical",
        id="xx_fault_feed",
    )
    outcome = run_crawl(settings, spec.id, store, env=LIMITS, timeout=HARD_LIMIT)

    assert outcome.status == "succeeded", outcome.message
    # An iCalendar body served as image/png is still a calendar; PNG bytes served as
    # text/calendar are not, and say so.
    assert _titles(store, spec.id) == {event_title(n) for n in ICS_NAMES + WRONG_TYPE_ICS_NAMES}
    errors = _errors_by_url(store, outcome.run_id)
    assert set(errors) == {faults.url(p) for p in bad}
    for path, fragment in bad.items():
        assert fragment in errors[faults.url(path)]


def test_endless_calendar_stops_at_follow_max_pages(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    spec = _source(store, [faults.url("/calendar/0")], follow={"max_pages": 6})
    outcome = run_crawl(settings, spec.id, store, env=LIMITS, timeout=HARD_LIMIT)

    assert outcome.status == "succeeded", outcome.message
    assert _titles(store, spec.id) == {event_title(f"calendar-{n}") for n in range(6)}
    assert faults.count("/calendar/") == 6


def test_endless_calendar_stops_at_the_global_page_limit(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    # The source asks for far more than the operator allows.
    spec = _source(store, [faults.url("/calendar/0")], follow={"max_pages": 100_000})
    env = {**LIMITS, "TRADEPOINT_CRAWL_MAX_PAGES": "8"}
    outcome = run_crawl(settings, spec.id, store, env=env, timeout=HARD_LIMIT)

    assert outcome.status == "succeeded", outcome.message
    fetched = faults.count("/calendar/")
    # robots.txt counts as a page too; pagination is sequential, so nothing is in flight.
    assert 5 <= fetched <= 8
    assert _titles(store, spec.id) == {event_title(f"calendar-{n}") for n in range(fetched)}
    errors = _errors_by_url(store, outcome.run_id)
    assert "limit of 8 pages" in errors[faults.url("/calendar/0")]


def test_a_slow_site_is_cut_at_the_crawl_time_limit(
    settings: Settings, store: Store, faults: FaultServer
) -> None:
    # 200 pages at 1 s each would take 100 s with two connections; the run may take 10.
    faults.site_events, faults.page_delay = 200, 1.0
    spec = _source(
        store,
        [faults.url("/site/index.html")],
        follow={"allow": ["/site/event-"], "max_pages": 500},
    )
    env = {**LIMITS, "TRADEPOINT_CRAWL_TIMEOUT": "10", "TRADEPOINT_DOWNLOAD_TIMEOUT": "3"}

    started = time.monotonic()
    outcome = run_crawl(settings, spec.id, store, env=env, timeout=HARD_LIMIT)
    elapsed = time.monotonic() - started

    # Pages in flight at the limit may still finish, bounded by the download timeout.
    assert elapsed < 10 + 3 * 3 + 10, f"run took {elapsed:.0f}s"
    assert outcome.status == "succeeded", outcome.message
    records = store.count_records(spec.id)
    assert 0 < records < 200
    errors = _errors_by_url(store, outcome.run_id)
    assert "time limit of 10 s" in errors[faults.url("/site/index.html")]
