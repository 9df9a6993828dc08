"""The scheduler runs at most `scheduler_max_crawls` crawls at once and never two on one host: a
due source whose host is busy, or that finds every slot taken, waits for a crawl to end and runs
next in its worker; sources on other hosts run side by side. Real APScheduler, real crawls of a
loopback site whose pages answer when the test says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from schedules.service import crawl_hosts
from search_api.domain.sources import SourceSpec, parse_source
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.scheduling import (
    DEADLINE,
    GatedSite,
    ServiceFactory,
    run_now,
    service_factory,
    wait_until,
)

pytestmark = pytest.mark.crawl


def fair_page(path: str) -> bytes:
    event = {
        "@context": "https://schema.org",
        "@type": "ExhibitionEvent",
        "name": f"Fair of {path.split('/')[1]}",
        "startDate": "2027-05-04",
        "location": {"@type": "Place", "address": {"addressCountry": "KE"}},
    }
    return (
        "<html><head><script type='application/ld+json'>"
        f"{json.dumps(event)}</script></head><body>fair</body></html>"
    ).encode()


@pytest.fixture
def site() -> Iterator[GatedSite]:
    s = GatedSite(fair_page)
    yield s
    s.close()


def fair_source(source_id: str, host: str, port: int) -> SourceSpec:
    return parse_source(
        {
            "id": source_id,
            "name": f"Fairs {source_id}",
            "kind": "fair",
            "format": "schema_org",
            "start_urls": [f"http://{host}:{port}/{source_id}/index.html"],
            "schedule": "0 4 * * *",
            "min_items": 1,
        }
    )


Factory = ServiceFactory


def wait_for_both_runs(store: Store) -> None:
    wait_until(
        lambda: all(
            [r.status for r in store.list_runs(s)] == ["succeeded"]
            for s in ("xx_first", "xx_second")
        ),
        what="both runs to succeed",
    )


@pytest.fixture
def make_service(settings: Settings, store: Store) -> Iterator[Factory]:
    yield from service_factory(settings, store)


def test_the_hosts_of_a_source_are_its_start_pages_host_names() -> None:
    spec = parse_source(
        {
            "id": "xx_two_sites",
            "name": "Two sites",
            "kind": "fair",
            "format": "schema_org",
            "start_urls": ["https://Fairs.Example.org:8443/a", "https://other.example.net/b"],
        }
    )
    # Scrapy's politeness counts a host by name, whatever the port.
    assert crawl_hosts(spec) == {"fairs.example.org", "other.example.net"}


def test_two_sources_on_one_host_are_crawled_one_after_the_other(
    make_service: Factory, store: Store, site: GatedSite
) -> None:
    store.add_source(fair_source("xx_first", "127.0.0.1", site.port))
    store.add_source(fair_source("xx_second", "127.0.0.1", site.port))
    svc = make_service(max_crawls=2)  # room for both: only the host holds the second back
    run_now(svc, "crawl:xx_first")
    wait_until(lambda: site.sources_asked() == {"xx_first"}, what="the first crawl's request")
    run_now(svc, "crawl:xx_second")
    time.sleep(1.5)  # time enough for a second worker to start it, were it allowed to
    assert site.sources_asked() == {"xx_first"}
    assert store.running_run("xx_second") is None

    site.release.set()
    wait_for_both_runs(store)
    [first] = store.list_runs("xx_first")
    [second] = store.list_runs("xx_second")
    assert first.finished_at is not None and second.started_at >= first.finished_at


def test_sources_on_other_hosts_are_crawled_side_by_side(
    make_service: Factory, store: Store, site: GatedSite
) -> None:
    # One server, two host names: what counts is the name a crawl asks for.
    store.add_source(fair_source("xx_first", "127.0.0.1", site.port))
    store.add_source(fair_source("xx_second", "localhost", site.port))
    svc = make_service(max_crawls=2)
    run_now(svc, "crawl:xx_first")
    run_now(svc, "crawl:xx_second")
    wait_until(
        lambda: site.sources_asked() == {"xx_first", "xx_second"},
        what="both crawls' requests before any page is answered",
    )
    site.release.set()
    wait_for_both_runs(store)


def test_a_source_still_waiting_at_shutdown_is_due_at_the_next_start(
    make_service: Factory, store: Store, site: GatedSite
) -> None:
    store.add_source(fair_source("xx_first", "127.0.0.1", site.port))
    store.add_source(fair_source("xx_second", "127.0.0.1", site.port))
    svc = make_service(max_crawls=2)
    run_now(svc, "crawl:xx_first")
    wait_until(lambda: site.sources_asked() == {"xx_first"}, what="the first crawl's request")
    run_now(svc, "crawl:xx_second")
    wait_until(lambda: svc._waiting, what="the second source to wait for its host")
    before = datetime.now(UTC).timestamp()

    # The first crawl ends within the grace, once the scheduler is stopping: the second,
    # whose host is then free, must not start after all.
    threading.Timer(1.0, site.release.set).start()
    assert svc.stop(grace=DEADLINE) == []

    with store.engine.connect() as conn:
        due = conn.execute(
            text("SELECT next_run_time FROM apscheduler_jobs WHERE id = 'crawl:xx_second'")
        ).scalar_one()
    # Not tomorrow at 04:00 as its schedule says, but now: it was due and did not run.
    assert due <= before + 5
    assert [r.status for r in store.list_runs("xx_first")] == ["succeeded"]
    assert store.list_runs("xx_second") == []


def test_a_source_waiting_for_a_slot_is_not_dropped_as_missed(
    make_service: Factory, store: Store, site: GatedSite
) -> None:
    """APScheduler drops a job that waited in its pool's queue longer than the misfire grace:
    with 1,000 sources due at once that was every source after the first hour."""
    store.add_source(fair_source("xx_first", "127.0.0.1", site.port))
    store.add_source(fair_source("xx_second", "localhost", site.port))
    svc = make_service(max_crawls=1, settings={"scheduler_misfire_grace_seconds": 1})
    run_now(svc, "crawl:xx_first")
    wait_until(lambda: site.sources_asked() == {"xx_first"}, what="the first crawl's request")
    run_now(svc, "crawl:xx_second")
    wait_until(lambda: svc._waiting, what="the second source to wait for a slot")
    time.sleep(2.5)  # beyond the misfire grace
    assert site.sources_asked() == {"xx_first"}

    site.release.set()
    wait_for_both_runs(store)
