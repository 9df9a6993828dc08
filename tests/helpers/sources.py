"""Sources for the fixture sites, and the sources API seen from a client."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from search_api.domain.sources import SourceSpec, parse_source
from tests.helpers.sites import SiteServer


def html_source(site: SiteServer, **kw: object) -> SourceSpec:
    data: dict[str, object] = {
        "id": "xx_fixture_fairs",
        "name": "Fixture fairs",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": [site.url("/fairs/index.html")],
        # /private/ is allowed here on purpose: only robots.txt keeps the crawler out.
        "follow": {"allow": ["/fairs/", "/private/"], "max_pages": 50},
        "min_items": 5,
    }
    data.update(kw)
    return parse_source(data)


def auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def wait_for_run(client: TestClient, source_id: str, run_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        runs = client.get(f"/api/v1/sources/{source_id}/runs").json()["items"]
        run = next(r for r in runs if r["id"] == run_id)
        if run["status"] != "running":
            return run
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} still running")
