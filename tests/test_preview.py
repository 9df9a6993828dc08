"""A source preview crawls a few pages for real and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.factories import fair
from tests.helpers.sites import SiteServer


@pytest.fixture
def key(store: Store) -> str:
    return create_key(store, "agency_a", "agency")


def spec(site: SiteServer, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "xx_preview_fairs",
        "name": "Fixture fairs",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": [site.url("/fairs/index.html")],
        "follow": {"allow": ["/fairs/"], "max_pages": 50},
        "min_items": 50,
    }
    data.update(kw)
    return data


def pages_fetched(site: SiteServer) -> list[str]:
    return [p for p in site.requested if p != "/robots.txt"]


def snapshot(store: Store) -> tuple[Any, ...]:
    return (
        store.count_records(),
        store.outbox_size(),
        [r.id for r in store.list_runs()],
        [s.model_dump() for s in store.list_sources()],
    )


@pytest.mark.crawl
def test_preview_returns_records_of_a_few_pages_and_writes_nothing(
    client: TestClient, store: Store, key: str, fair_site: SiteServer, settings: Settings
) -> None:
    # Something is there already, under the very id being previewed: it must stay as it is.
    store.upsert_records([fair("xx_preview_fairs:old", source_id="xx_preview_fairs")])
    client.post(
        "/api/v1/sources",
        json=spec(fair_site, name="Registered"),
        headers={"Authorization": f"Bearer {key}"},
    )
    before = snapshot(store)
    assert before[0] == 1 and before[1] == 1 and len(before[3]) == 1
    r = client.post(
        "/api/v1/sources/preview", json=spec(fair_site), headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    titles = {rec["title"] for rec in out["records"]}
    assert "Nairobi Agri & Food Expo 2027" in titles
    assert out["count"] == len(out["records"]) >= 3
    assert all(rec["source_id"] == "xx_preview_fairs" for rec in out["records"])
    assert out["errors"] == [] and out["pages"] == settings.preview_max_pages == 3
    assert len(pages_fetched(fair_site)) <= settings.preview_max_pages
    # The warnings tell what a crawl would make of it.
    assert any("min_items=50" in w for w in out["warnings"])
    assert any("stopped after 3 pages" in w for w in out["warnings"])
    assert snapshot(store) == before


@pytest.mark.crawl
def test_preview_page_limit_comes_from_the_settings(
    settings: Settings, store: Store, backend: SearchBackend, fair_site: SiteServer
) -> None:
    limited = settings.model_copy(update={"preview_max_pages": 1})
    app = create_app(limited, store=store, backend=backend, background_indexer=False)
    key = create_key(store, "agency_a", "agency")
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/sources/preview",
            json=spec(fair_site),
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["pages"] == 1
    assert pages_fetched(fair_site) == ["/fairs/index.html"]


@pytest.fixture
def guarded(
    settings: Settings, store: Store, backend: SearchBackend
) -> Iterator[tuple[TestClient, str]]:
    """An app with the SSRF guard on, as in production."""
    strict = settings.model_copy(update={"allow_private_hosts": False})
    app = create_app(strict, store=store, backend=backend, background_indexer=False)
    with TestClient(app) as c:
        yield c, create_key(store, "agency_a", "agency")


@pytest.mark.crawl
def test_the_ssrf_guard_applies_to_previews(
    guarded: tuple[TestClient, str], store: Store, fair_site: SiteServer
) -> None:
    client, key = guarded
    r = client.post(
        "/api/v1/sources/preview", json=spec(fair_site), headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["records"] == [] and out["count"] == 0
    assert "non-public address 127.0.0.1" in out["errors"][0]["message"]
    assert fair_site.requested == []  # not even robots.txt left
    assert any("no records" in w for w in out["warnings"])
    assert store.list_runs() == []


def test_previews_refuse_local_files_and_invalid_sources(
    client: TestClient, key: str, fair_site: SiteServer
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    r = client.post(
        "/api/v1/sources/preview",
        json=spec(fair_site, start_urls=["file:///etc/passwd"]),
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("start_urls.0:")
    r = client.post("/api/v1/sources/preview", json=spec(fair_site, kind="cars"), headers=headers)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("kind")
    assert fair_site.requested == []
