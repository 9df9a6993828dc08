"""Curated records over the API: added by hand, searchable, editable only by their agency."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.factories import fair

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")

FINANCE = {
    "kind": "finance",
    "slug": "sme-export-insurance",
    "title": "Short-term export credit insurance for small exporters",
    "summary": "Covers non-payment by foreign buyers.",
    "url": "https://eca.example.org/sme-insurance",
    "provider": {"name": "Example Export Credit Agency", "type": "eca"},
    "instruments": ["credit_insurance", "working_capital_guarantee"],
    "eligible_exporter_countries": ["KE"],
    "destinations": ["EU", "AE"],
    "markets": ["EU", "AE"],
    "sme_focus": True,
    "coverage_pct_max": 90,
    "max_amount": {"value": 500000, "currency": "usd"},
}
RECORD_ID = "curated_agency_a:sme-export-insurance"


@pytest.fixture
def keys(store: Store) -> dict[str, dict[str, str]]:
    def h(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    return {
        "a": h(create_key(store, "agency_a", "agency")),
        "b": h(create_key(store, "agency_b", "agency")),
        "admin": h(create_key(store, "ops", "admin")),
        "none": {},
    }


@pytest.fixture
def added(client: TestClient, keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    r = client.post("/api/v1/records", json=FINANCE, headers=keys["a"])
    assert r.status_code == 201, r.text
    return r.json()


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_finance_record_added_by_hand_is_searchable(
    client: TestClient, store: Store, backend: SearchBackend, added: dict[str, Any]
) -> None:
    assert added["id"] == RECORD_ID
    assert added["curated_by"] == "agency_a" and added["source_id"] == "curated_agency_a"
    assert added["as_of"] == date.today().isoformat()
    assert added["max_amount"] == {"value": 500000.0, "currency": "USD"}
    assert store.outbox_size() == 1  # written with the record, indexed by the indexer
    assert search(client, q="export credit insurance")["total"] == 0
    drain_outbox(store, backend)
    found = search(client, q="export credit insurance", kind="finance", market="FR")
    assert [i["id"] for i in found["items"]] == [RECORD_ID]  # EU covers France
    assert client.get(f"/api/v1/records/{RECORD_ID}").json()["curated_by"] == "agency_a"


def test_without_a_slug_an_id_is_made_up(client: TestClient, keys: dict[str, Any]) -> None:
    body = {k: v for k, v in FINANCE.items() if k != "slug"}
    first = client.post("/api/v1/records", json=body, headers=keys["a"]).json()["id"]
    second = client.post("/api/v1/records", json=body, headers=keys["a"]).json()["id"]
    assert first.startswith("curated_agency_a:short-term-export-credit-insurance")
    assert first != second
    # accented titles keep their letters, as a French- or Spanish-speaking agency writes them
    body["title"] = "Étiquetage des produits préemballés au Sénégal"
    made = client.post("/api/v1/records", json=body, headers=keys["a"]).json()["id"]
    assert made.startswith("curated_agency_a:etiquetage-des-produits-preemballes-au-senegal-")


def test_the_owner_changes_and_deletes_its_record(
    client: TestClient,
    store: Store,
    backend: SearchBackend,
    keys: dict[str, Any],
    added: dict[str, Any],
) -> None:
    drain_outbox(store, backend)
    r = client.patch(
        f"/api/v1/records/{RECORD_ID}",
        json={"title": "Export insurance for SMEs", "summary": None, "coverage_pct_max": 95},
        headers=keys["a"],
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["title"] == "Export insurance for SMEs" and changed.get("summary") is None
    assert changed["coverage_pct_max"] == 95 and changed["instruments"] == FINANCE["instruments"]
    assert changed["version"] == 2 and changed["first_seen"] == added["first_seen"]
    drain_outbox(store, backend)
    assert search(client, q="SMEs")["total"] == 1
    assert client.delete(f"/api/v1/records/{RECORD_ID}", headers=keys["a"]).status_code == 204
    drain_outbox(store, backend)
    assert search(client, q="SMEs")["total"] == 0
    assert client.get(f"/api/v1/records/{RECORD_ID}").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("none", 401), ("b", 403)])
def test_others_cannot_change_an_agencys_record(
    client: TestClient,
    store: Store,
    keys: dict[str, Any],
    added: dict[str, Any],
    who: str,
    status: int,
) -> None:
    path = f"/api/v1/records/{RECORD_ID}"
    r = client.patch(path, json={"title": "Hijacked"}, headers=keys[who])
    assert r.status_code == status
    if status == 403:
        assert "agency_a" in r.json()["error"]["message"]
    assert client.delete(path, headers=keys[who]).status_code == status
    assert store.get_record(RECORD_ID).title == FINANCE["title"]  # type: ignore[union-attr]
    assert client.post("/api/v1/records", json=FINANCE, headers=keys["none"]).status_code == 401


def test_an_admin_may_change_any_curated_record(
    client: TestClient, keys: dict[str, Any], added: dict[str, Any]
) -> None:
    r = client.patch(f"/api/v1/records/{RECORD_ID}", json={"title": "Fixed"}, headers=keys["admin"])
    assert r.status_code == 200 and r.json()["curated_by"] == "agency_a"


def test_crawled_records_cannot_be_edited(
    client: TestClient, store: Store, keys: dict[str, Any]
) -> None:
    # A record from a crawl, even one whose source is a curated file owned by agency_a.
    store.upsert_records([fair("xx_src:1", source_id="xx_src", curated_by="agency_a")])
    for method, body in [("patch", {"title": "Edited"}), ("delete", None)]:
        r = client.request(method, "/api/v1/records/xx_src:1", json=body, headers=keys["admin"])
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "not_curated"
        assert "xx_src" in r.json()["error"]["message"]
    assert store.get_record("xx_src:1").title == "Coffee Expo"  # type: ignore[union-attr]
    r = client.patch("/api/v1/records/xx_nope:1", json={"title": "x"}, headers=keys["a"])
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": None}, "kind"),
        ({"instruments": ["magic_money"]}, "instruments"),
        ({"eligible_exporter_countries": ["XX"]}, "eligible_exporter_countries"),
        ({"first_seen": "2020-01-01T00:00:00"}, "first_seen"),
        ({"source_id": "xx_other"}, "source_id"),
        ({"colour": "red"}, "colour"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"title": ""}, "title"),
        ({"max_amount": {"value": 5}}, "max_amount.currency"),
        ({"language": "xx-yy"}, "language"),
    ],
)
def test_invalid_records_are_refused_naming_the_field(
    client: TestClient, store: Store, keys: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**FINANCE, **change}.items() if v is not None}
    r = client.post("/api/v1/records", json=body, headers=keys["a"])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith(field), r.json()
    assert store.count_records() == 0


def test_a_language_name_or_tag_is_stored_as_its_code(
    client: TestClient, store: Store, backend: SearchBackend, keys: dict[str, Any]
) -> None:
    r = client.post("/api/v1/records", json={**FINANCE, "language": "Français"}, headers=keys["a"])
    assert r.status_code == 201, r.text
    assert r.json()["language"] == "fr"
    r = client.patch(f"/api/v1/records/{RECORD_ID}", json={"language": "es-MX"}, headers=keys["a"])
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "es"
    drain_outbox(store, backend)
    assert [i["id"] for i in search(client, lang="es")["items"]] == [RECORD_ID]


def test_patch_rules(client: TestClient, keys: dict[str, Any], added: dict[str, Any]) -> None:
    path = f"/api/v1/records/{RECORD_ID}"
    for body, field in [
        ({"kind": "fair"}, "kind"),
        ({"curated_by": "agency_b"}, "curated_by"),
        ({"id": "curated_agency_a:other"}, "id"),
        ({"instruments": ["magic_money"]}, "instruments"),
    ]:
        r = client.patch(path, json=body, headers=keys["a"])
        assert r.status_code == 422 and r.json()["error"]["message"].startswith(field)


def test_slugs_are_unique_and_agencies_add_only_as_themselves(
    client: TestClient, keys: dict[str, Any], added: dict[str, Any]
) -> None:
    r = client.post("/api/v1/records", json=FINANCE, headers=keys["a"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "record_exists"
    # Agency B may use the same slug: its records live under its own name.
    r = client.post("/api/v1/records", json=FINANCE, headers=keys["b"])
    assert r.status_code == 201 and r.json()["id"] == "curated_agency_b:sme-export-insurance"
    r = client.post(
        "/api/v1/records", json={**FINANCE, "curated_by": "agency_a"}, headers=keys["b"]
    )
    assert r.status_code == 403 and "curated_by" in r.json()["error"]["message"]
    r = client.post(
        "/api/v1/records",
        json={**FINANCE, "slug": "for-b", "curated_by": "agency_b"},
        headers=keys["admin"],
    )
    assert r.status_code == 201 and r.json()["curated_by"] == "agency_b"


def test_a_record_written_through_the_api_is_indexed_without_waiting_for_the_poll(
    settings: Settings, store: Store, backend: SearchBackend, keys: dict[str, dict[str, str]]
) -> None:
    # the poll is an hour away: only the write itself can have started the indexer
    patient = settings.model_copy(update={"index_poll_seconds": 3600.0})
    app = create_app(patient, store=store, backend=backend, background_indexer=True)
    with TestClient(app) as client:
        time.sleep(0.2)  # the indexer's first look at the (empty) outbox is over
        assert client.post("/api/v1/records", json=FINANCE, headers=keys["a"]).status_code == 201
        deadline = time.monotonic() + 30
        while search(client, q="export credit insurance")["total"] == 0:
            assert time.monotonic() < deadline, "the write did not wake the indexer"
            time.sleep(0.05)
        assert store.outbox_size() == 0
        assert client.delete(f"/api/v1/records/{RECORD_ID}", headers=keys["a"]).status_code == 204
        while search(client, q="export credit insurance")["total"] == 1:
            assert time.monotonic() < deadline, "the delete did not wake the indexer"
            time.sleep(0.05)
