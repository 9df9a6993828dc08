"""The source registry over the API: who may do what, validation, crawl now, runs and health."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.services.health import health_from_runs
from search_api.store import RunStats, Store
from search_api.store.keys import create_key
from tests.helpers.factories import fair
from tests.helpers.sites import SiteServer
from tests.helpers.sources import auth, wait_for_run

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")

SOURCE_ID = "xx_agency_a_fairs"


@pytest.fixture
def keys(store: Store) -> dict[str, str]:
    return {
        "a": create_key(store, "agency_a", "agency"),
        "b": create_key(store, "agency_b", "agency"),
        "admin": create_key(store, "ops", "admin"),
    }


def source(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": SOURCE_ID,
        "name": "Agency A fair calendar",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": ["https://fairs.example.org/"],
        "follow": {"allow": ["/fairs/"], "max_pages": 50},
    }
    data.update(kw)
    return data


def error_of(response: Any, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.fixture
def owned(client: TestClient, keys: dict[str, str]) -> str:
    r = client.post("/api/v1/sources", json=source(), headers=auth(keys["a"]))
    assert r.status_code == 201, r.text
    return SOURCE_ID


def test_an_agency_source_is_owned_by_the_agency(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/sources", json=source(), headers=auth(keys["a"]))
    assert r.status_code == 201
    assert r.headers["location"] == f"/api/v1/sources/{SOURCE_ID}"
    assert r.json()["owner"] == "agency_a" and r.json()["health"]["state"] == "never_run"
    listed = client.get("/api/v1/sources", params={"owner": "agency_a"}).json()
    assert [s["id"] for s in listed["items"]] == [SOURCE_ID]
    assert client.get("/api/v1/sources", params={"owner": "agency_b"}).json()["items"] == []
    # Reads are public.
    assert client.get(f"/api/v1/sources/{SOURCE_ID}").json()["owner"] == "agency_a"


def test_only_an_admin_creates_sources_for_someone_else(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post("/api/v1/sources", json=source(owner="agency_b"), headers=auth(keys["a"]))
    assert "owner" in error_of(r, 403)["message"]
    r = client.post("/api/v1/sources", json=source(owner="agency_b"), headers=auth(keys["admin"]))
    assert r.status_code == 201 and r.json()["owner"] == "agency_b"


WRITES = [
    ("patch", f"/api/v1/sources/{SOURCE_ID}", {"name": "Renamed"}),
    ("delete", f"/api/v1/sources/{SOURCE_ID}", None),
    ("post", f"/api/v1/sources/{SOURCE_ID}/crawl", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [(None, 401, "unauthorized"), ("bad", 401, "unauthorized"), ("b", 403, "forbidden")],
)
def test_writes_are_refused_without_a_key_or_to_another_agency(
    client: TestClient,
    keys: dict[str, str],
    owned: str,
    store: Store,
    method: str,
    path: str,
    body: Any,
    who: str | None,
    status: int,
    code: str,
) -> None:
    key = {"bad": "tp_not-a-real-key"}.get(who or "", keys.get(who or ""))
    r = client.request(method, path, json=body, headers=auth(key))
    err = error_of(r, status)
    assert err["code"] == code
    if status == 403:
        assert "agency_a" in err["message"] and "agency_b" in err["message"]
    assert store.get_source(owned).name == "Agency A fair calendar"
    assert store.list_runs(owned) == []


def test_posting_a_source_needs_a_key(client: TestClient) -> None:
    assert error_of(client.post("/api/v1/sources", json=source()), 401)["code"] == "unauthorized"
    r = client.post("/api/v1/sources/preview", json=source())
    assert error_of(r, 401)["code"] == "unauthorized"


@pytest.mark.parametrize("who", ["a", "admin"])
def test_the_owner_and_an_admin_may_change_and_remove(
    client: TestClient, keys: dict[str, str], owned: str, store: Store, who: str
) -> None:
    r = client.patch(
        f"/api/v1/sources/{owned}",
        json={"name": "Renamed", "min_items": 3},
        headers=auth(keys[who]),
    )
    assert r.status_code == 200, r.text
    spec = store.get_source(owned)
    # A partial update: what was not sent stays.
    assert (spec.name, spec.min_items, spec.owner) == ("Renamed", 3, "agency_a")
    assert spec.follow is not None and spec.follow.allow == ["/fairs/"]
    r = client.patch(f"/api/v1/sources/{owned}", json={"follow": None}, headers=auth(keys[who]))
    assert r.status_code == 200 and store.get_source(owned).follow is None
    assert client.delete(f"/api/v1/sources/{owned}", headers=auth(keys[who])).status_code == 204
    assert error_of(client.get(f"/api/v1/sources/{owned}"), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (source(id="Bad Id"), "id"),
        (source(start_urls=["file:///etc/passwd"]), "start_urls"),
        (source(start_urls=["ftp://example.org/x"]), "start_urls"),
        (source(format="word"), "format"),
        (source(colour="red"), "colour"),
        (source(id="curated_agency_a"), "id"),
        ({k: v for k, v in source().items() if k != "name"}, "name"),
        (source(format="html"), "selectors"),
    ],
)
def test_invalid_sources_are_refused_naming_the_field(
    client: TestClient, keys: dict[str, str], store: Store, body: dict[str, Any], field: str
) -> None:
    err = error_of(client.post("/api/v1/sources", json=body, headers=auth(keys["a"])), 422)
    assert err["code"] == "invalid_parameter"
    # Field errors start with the field's path; whole-source rules name the fields involved.
    assert err["message"].startswith(field) or field == "selectors", err["message"]
    assert field in err["message"]
    assert store.list_sources() == []


def test_a_patch_is_validated_as_a_whole_source(
    client: TestClient, keys: dict[str, str], owned: str, store: Store
) -> None:
    path, headers = f"/api/v1/sources/{owned}", auth(keys["a"])
    for body, field in [
        ({"min_items": -1}, "min_items"),
        ({"start_urls": ["file:///etc/passwd"]}, "start_urls.0"),
        ({"schedule": "every day"}, "schedule"),
        ({"id": "xx_other_id"}, "id"),
        ({"unknown": 1}, "unknown"),
    ]:
        err = error_of(client.patch(path, json=body, headers=headers), 422)
        assert err["code"] == "invalid_parameter"
        assert err["message"].startswith(field + ":"), err["message"]
    err = error_of(client.patch(path, json={"owner": "agency_b"}, headers=headers), 403)
    assert "owner" in err["message"]
    err = error_of(client.patch(path, json=[1, 2], headers=headers), 422)
    assert store.get_source(owned).name == "Agency A fair calendar"


def test_removing_a_source_keeps_its_records(
    client: TestClient, keys: dict[str, str], owned: str, store: Store
) -> None:
    store.upsert_records([fair(f"{owned}:1", source_id=owned), fair(f"{owned}:2", source_id=owned)])
    assert client.delete(f"/api/v1/sources/{owned}", headers=auth(keys["a"])).status_code == 204
    assert store.list_sources() == []
    assert store.count_records(owned) == 2
    assert client.get(f"/api/v1/records/{owned}:1").status_code == 200


@pytest.mark.crawl
def test_crawl_now_runs_a_real_crawl_and_reports_health(
    client: TestClient, keys: dict[str, str], store: Store, fair_site: SiteServer
) -> None:
    body = source(start_urls=[fair_site.url("/fairs/index.html")], min_items=5)
    assert client.post("/api/v1/sources", json=body, headers=auth(keys["a"])).status_code == 201
    r = client.post(f"/api/v1/sources/{SOURCE_ID}/crawl", headers=auth(keys["a"]))
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    # The crawl runs in the background (a detached process in production): the request
    # returned while it runs.
    run = wait_for_run(client, SOURCE_ID, run_id)
    assert run["status"] == "succeeded", run
    assert run["items"] == run["items_new"] == store.count_records(SOURCE_ID) >= 5
    assert any(p.startswith("/fairs/") for p in fair_site.requested)
    detail = client.get(f"/api/v1/sources/{SOURCE_ID}").json()
    health = detail["health"]
    assert health["state"] == "ok" and health["consecutive_failures"] == 0
    assert health["item_trend"] == [run["items"]] and health["last_success"]
    assert health["records"] == run["items"] and health["running_run_id"] is None
    listed = client.get("/api/v1/sources").json()["items"]
    assert listed[0]["health"]["last_run"]["id"] == run_id
    # The admin may crawl any source; the run is recorded the same way.
    r = client.post(f"/api/v1/sources/{SOURCE_ID}/crawl", headers=auth(keys["admin"]))
    assert r.status_code == 202
    assert wait_for_run(client, SOURCE_ID, r.json()["run_id"])["status"] == "succeeded"


def test_crawl_now_is_refused_while_a_run_is_running(
    client: TestClient, keys: dict[str, str], owned: str, store: Store
) -> None:
    running = store.start_run(owned)
    err = error_of(client.post(f"/api/v1/sources/{owned}/crawl", headers=auth(keys["a"])), 409)
    assert err["code"] == "run_in_progress" and f"run {running}" in err["message"]
    assert [r.id for r in store.list_runs(owned)] == [running]
    health = client.get(f"/api/v1/sources/{owned}").json()["health"]
    assert health["running_run_id"] == running and health["state"] == "never_run"


def test_unknown_sources_are_404(client: TestClient, keys: dict[str, str]) -> None:
    for method, path in [
        ("get", "/api/v1/sources/xx_nope"),
        ("get", "/api/v1/sources/xx_nope/runs"),
        ("post", "/api/v1/sources/xx_nope/crawl"),
        ("delete", "/api/v1/sources/xx_nope"),
    ]:
        r = client.request(method, path, headers=auth(keys["admin"]))
        assert error_of(r, 404)["code"] == "not_found"


def _run(store: Store, source_id: str, status: str, items: int, message: str = "") -> int:
    run_id = store.start_run(source_id)
    errors = [{"url": "https://x.example/p", "message": message}] if message else []
    store.finish_run(run_id, status, RunStats(items_unchanged=items, errors=errors), message)
    return run_id


def test_health_counts_failures_since_the_last_success_and_the_item_trend(store: Store) -> None:
    for n in (100, 110, 95):
        _run(store, "xx_src", "succeeded", n)
    _run(store, "xx_src", "failed", 0, "yielded 3 records, far fewer than the previous run's 95")
    last = _run(store, "xx_src", "interrupted", 0, "marked interrupted: its process is gone")
    health = health_from_runs(store.list_runs("xx_src"))
    assert health["state"] == "failing" and health["consecutive_failures"] == 2
    assert health["item_trend"] == [100, 110, 95]
    assert health["last_error"]["run_id"] == last
    assert "interrupted" in health["last_error"]["message"]
    _run(store, "xx_src", "succeeded", 97)
    health = health_from_runs(store.list_runs("xx_src"))
    assert health["state"] == "ok" and health["consecutive_failures"] == 0
    assert health["item_trend"] == [100, 110, 95, 97]
    assert health_from_runs([])["state"] == "never_run"
