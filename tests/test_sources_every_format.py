"""An agency adds one source of every format through the API, crawls each through the API (a
real crawl per run, against the fixture sites), and finds the records in the search."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.domain.sources import source_formats
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.formats import COFFEE, DRAFT, FINANCE_COLUMNS, finance_spec
from tests.helpers.sites import SiteServer, serve_copy
from tests.helpers.sources import auth, wait_for_run

pytestmark = pytest.mark.crawl


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, SiteServer]]:
    with ExitStack() as stack:
        served = {
            name: stack.enter_context(serve_copy(name, tmp_path))
            for name in ("fairs", "feed", "html", "table", "pdf", "curated")
        }
        docs = served["pdf"].root / "docs"
        docs.mkdir()
        (docs / "coffee-labelling.pdf").write_bytes(COFFEE)
        (docs / "draft-notice.pdf").write_bytes(DRAFT)
        yield served


def sources(sites: dict[str, SiteServer]) -> list[dict[str, Any]]:
    html = finance_spec(sites["html"]).model_dump(mode="json", exclude_none=True)
    return [
        {
            "id": "agency_a_fairs_page",
            "name": "Fair calendar pages",
            "kind": "fair",
            "format": "schema_org",
            "start_urls": [sites["fairs"].url("/fairs/index.html")],
            "follow": {"allow": ["/fairs/"], "max_pages": 50},
        },
        {
            "id": "agency_a_fairs_ics",
            "name": "Fair calendar feed",
            "kind": "fair",
            "format": "ical",
            "start_urls": [sites["fairs"].url("/fairs.ics")],
        },
        {
            "id": "agency_a_notices",
            "name": "SPS notices",
            "kind": "requirement",
            "format": "feed",
            "start_urls": [sites["feed"].url("/requirements.xml")],
            "defaults": {"markets": ["TZ"], "requirement_type": "sps", "status": "adopted"},
        },
        {**html, "id": "agency_a_finance_html", "name": "Finance programmes page"},
        {
            "id": "agency_a_finance_csv",
            "name": "Finance table",
            "kind": "finance",
            "format": "table",
            "start_urls": [sites["table"].url("/finance.csv")],
            "table": {"columns": FINANCE_COLUMNS},
        },
        {
            "id": "agency_a_pdf_notices",
            "name": "Publications",
            "kind": "requirement",
            "format": "pdf",
            "start_urls": [sites["pdf"].url("/index.html")],
            "defaults": {"markets": ["EU"], "requirement_type": "labelling", "hs_codes": ["08"]},
        },
        {
            "id": "agency_a_fairs_api",
            "name": "Fair calendar API",
            "kind": "fair",
            "format": "api",
            "start_urls": [sites["table"].url("/fairs.json")],
            "api": {
                "records": "data.items",
                "fields": {
                    "title": "name",
                    "start_date": "when.start",
                    "end_date": "when.end",
                    "city": "where.city",
                    "country": "where.country",
                    "url": "link",
                },
            },
        },
        {
            "id": "agency_a_curated",
            "name": "Our own finance list",
            "kind": "finance",
            "format": "curated",
            "start_urls": [sites["curated"].url("/finance.csv")],
        },
    ]


def test_one_source_of_every_format_added_and_crawled_through_the_api(
    client: TestClient, store: Store, backend: SearchBackend, sites: dict[str, SiteServer]
) -> None:
    key = create_key(store, "agency_a", "agency")
    bodies = sources(sites)
    assert {b["format"] for b in bodies} == set(source_formats())
    for body in bodies:
        r = client.post("/api/v1/sources", json=body, headers=auth(key))
        assert r.status_code == 201, (body["id"], r.text)
        assert r.json()["owner"] == "agency_a"
    runs = {}
    for body in bodies:
        r = client.post(f"/api/v1/sources/{body['id']}/crawl", headers=auth(key))
        assert r.status_code == 202, (body["id"], r.text)
        runs[body["id"]] = wait_for_run(client, body["id"], r.json()["run_id"])
    for source_id, run in runs.items():
        assert run["status"] == "succeeded", (source_id, run)
        assert run["items_new"] >= 1, (source_id, run)
        assert store.count_records(source_id) == run["items_new"]
        health = client.get(f"/api/v1/sources/{source_id}").json()["health"]
        assert health["state"] == "ok", (source_id, health)
    drain_outbox(store, backend)  # what `serve` does in the background
    for body in bodies:
        found = client.get("/api/v1/search", params={"kind": body["kind"], "size": 100}).json()[
            "items"
        ]
        mine = [i for i in found if i["source_id"] == body["id"]]
        assert len(mine) == runs[body["id"]]["items_new"], body["id"]
