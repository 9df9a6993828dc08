"""The crawler, end to end, on the hand-written pages and calendars of tests/fixtures/wild served
from loopback, as a user runs it (a source, a crawl): one record per event, none twice, and the
run's notes say which rule filled which value on which page."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from search_api.domain.sources import parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.sites import SiteServer, serve_site
from tests.helpers.wild import EXPECTED, WILD

pytestmark = pytest.mark.crawl


@pytest.fixture(scope="module")
def wild_site() -> Iterator[SiteServer]:
    with serve_site(WILD) as site:
        yield site


def key(event: dict[str, Any]) -> tuple[str, ...]:
    # An event without an end date ends the day it starts (schema.org leaves it open).
    fields = (event["name"], event["start_date"], event["end_date"] or event["start_date"])
    return (*fields, str(event["country"]), str(event["status"] or "scheduled"))


@pytest.mark.parametrize("section", ["html", "ics"])
def test_every_file_crawls_to_its_events_once_with_notes(
    section: str, wild_site: SiteServer, settings: Settings, store: Store
) -> None:
    for n, (name, events) in enumerate(sorted(EXPECTED[section].items())):
        spec = parse_source(
            dict(
                id=f"xx_wild_{section}_{n}",
                name=name,
                kind="fair",
                format="schema_org" if section == "html" else "ical",
                start_urls=[wild_site.url(f"/{section}/{name}")],
                min_items=1,
            )
        )
        store.add_source(spec)
        outcome = run_crawl(settings, spec.id, store)
        assert outcome.ok, f"{name}: {outcome.message}"
        records = [r for r in store.iter_records() if r.source_id == spec.id]
        got = Counter(
            (r.title, str(r.start_date), str(r.end_date), str(r.country), r.status)
            for r in records
            if r.kind == "fair"
        )
        assert got == Counter(key(e) for e in events), name
        run = store.list_runs(spec.id, limit=1)[0]
        page = wild_site.url(f"/{section}/{name}")
        notes = run.notes or []
        assert sorted({n["rule"] for n in notes}) == EXPECTED["note_rules"][section][name], name
        assert all(n["url"] == page and n["message"] for n in notes), name
        if notes:
            assert "repaired or inferred (see notes)" in (run.message or "")


def test_the_runs_api_shows_the_notes(
    wild_site: SiteServer, settings: Settings, store: Store, client: Any
) -> None:
    spec = parse_source(
        dict(
            id="xx_wild_status",
            name="status",
            kind="fair",
            format="schema_org",
            start_urls=[wild_site.url("/html/status_in_titles.html")],
        )
    )
    store.add_source(spec)
    assert run_crawl(settings, spec.id, store).ok
    runs = client.get(f"/api/v1/sources/{spec.id}/runs").json()["items"]
    notes = runs[0]["notes"]
    assert {
        "url": wild_site.url("/html/status_in_titles.html"),
        "rule": "status.title",
        "message": "event 'Cancelled: Rules Committee': status 'cancelled' from the title "
        "marker 'Cancelled'",
    } in notes
