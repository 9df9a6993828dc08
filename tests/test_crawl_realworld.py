"""The crawler, end to end, on real third-party pages and calendars (../shared/realworld),
served from loopback. Hand-checked expectations come with the corpus (expected.json)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from search_api.domain.records import AnyRecord
from search_api.domain.sources import parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.sites import REALWORLD, SiteServer, start_site

pytestmark = [
    pytest.mark.skipif(
        not (REALWORLD / "expected.json").exists(),
        reason=f"realworld corpus not found at {REALWORLD}",
    ),
    pytest.mark.crawl,
]


@pytest.fixture(scope="module")
def corpus_site() -> Iterator[SiteServer]:
    site, server = start_site(REALWORLD)
    yield site
    server.shutdown()
    server.server_close()


def key(title: Any, start: Any, end: Any, city: Any, country: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in (title, start, end, city, country))


def record_key(r: AnyRecord) -> tuple[str, ...]:
    assert r.kind == "fair"
    return key(r.title, r.start_date, r.end_date, r.city, r.country)


@pytest.mark.parametrize("section", ["html", "ics"])
def test_every_real_file_crawls_to_the_expected_events(
    section: str, corpus_site: SiteServer, settings: Settings, store: Store
) -> None:
    expected: dict[str, list[dict[str, Any]]] = json.loads(
        (REALWORLD / "expected.json").read_text()
    )[section]
    for n, (name, events) in enumerate(sorted(expected.items())):
        spec = parse_source(
            dict(
                id=f"xx_real_{section}_{n}",
                name=name,
                kind="fair",
                format="schema_org" if section == "html" else "ical",
                start_urls=[corpus_site.url(f"/{section}/{quote(name)}")],
            )
        )
        store.add_source(spec)
        outcome = run_crawl(settings, spec.id, store)
        assert outcome.ok, f"{name}: {outcome.message}"
        got = Counter(record_key(r) for r in store.iter_records() if r.source_id == spec.id)
        # An event without an end date ends the day it starts (schema.org leaves it open).
        want = Counter(
            key(
                e["name"],
                e["start_date"],
                e["end_date"] or e["start_date"],
                e["city"],
                e["country"],
            )
            for e in events
        )
        # Several listings of one event (same URL) become one record: compare distinct events.
        assert set(got) == set(want), name
        seen = {r.title: r for r in store.iter_records() if r.source_id == spec.id}
        for e in events:
            record = seen[e["name"]]
            assert record.kind == "fair"
            assert record.status == (e["status"] or "scheduled"), (name, e["name"])
            assert record.online == e["online"], (name, e["name"])
