"""Pages as a person sees them: the API documentation works offline, links go only to pages
that can exist, and no page shows Python's inner workings."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import RunStats, Store
from search_api.store.keys import create_key
from search_api.web.i18n import official_link
from tests.helpers.agency import sign_in
from tests.helpers.factories import fair

REPR = re.compile(r"<built-in method|<bound method|object at 0x[0-9a-f]+|<function ")


def test_the_api_documentation_needs_no_other_site(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    for asset in sources:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 100
    assert client.get("/openapi.json").json()["info"]["title"] == "Tradepoint"


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://www.sialparis.com/", "https://www.sialparis.com/"),
        ("http://example.org/fair", "http://example.org/fair"),
        ("https://fairs.demo.tradepoint.invalid/fairs/x.html", None),
        ("https://site.example/x", None),
        ("http://shop.test/", None),
        ("http://127.0.0.1:8765/fairs.ics", None),
        ("http://localhost/x", None),
        ("http://[::1]:8000/fairs.ics", None),
        ("http://10.1.2.3/x", None),
        ("http://192.168.0.10/x", None),
        ("http://[::1", None),
        ("http://8.8.8.8/x", "http://8.8.8.8/x"),
        ("ftp://example.org/x", None),
        ("javascript:alert(1)", None),
        (None, None),
    ],
)
def test_only_pages_that_can_exist_are_linked_as_official(
    url: str | None, link: str | None
) -> None:
    assert official_link(url) == link


def test_a_fictional_fair_has_no_official_page_link(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    store.upsert_records(
        [fair("t_src:demo", url="https://fairs.demo.tradepoint.invalid/fairs/x.html")]
    )
    drain_outbox(store, backend)
    page = client.get("/records/t_src:demo").text
    assert "Official page" not in page and ".invalid" not in page.split("<main", 1)[-1]


def test_the_runs_table_shows_counts_not_python(client: TestClient, store: Store) -> None:
    from search_api.domain.sources import parse_source

    store.add_source(
        parse_source(
            {
                "id": "xx_runs",
                "name": "Runs",
                "kind": "fair",
                "format": "ical",
                "start_urls": ["https://example.org/x.ics"],
                "owner": "agency_a",
            }
        )
    )
    run = store.start_run("xx_runs")
    store.finish_run(run, "succeeded", RunStats(pages=2, items_new=3), "3 records: 3 new")
    sign_in(client, create_key(store, "agency_a", "agency", "Agency A"))
    page = client.get("/agency/sources/xx_runs").text
    assert not REPR.search(page), REPR.search(page)
    assert "<td>3 (3 / 0 / 0)</td>" in page
    assert "signed in as <b>Agency A</b>" in page
