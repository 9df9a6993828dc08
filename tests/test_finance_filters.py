"""Finance filters on /api/v1/search and /search: instrument, provider type, origin (bloc-aware,
empty = open to all), SME focus and amount ranges; bad values are 4xx naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store


def _fin(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": f"t_fin:{id}", "kind": "finance", "title": title, "source_id": "t_fin", **kw}


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    raw = [
        _fin(
            "gtfp",
            "Global trade finance programme",
            provider={"name": "IFC", "type": "dfi"},
            instruments=["risk_participation", "credit_guarantee"],
            sme_focus=True,
        ),
        _fin(
            "ke",
            "Kenyan export credit insurance",
            provider={"name": "Kenyan ECA", "type": "eca"},
            instruments=["credit_insurance"],
            eligible_exporter_countries=["KE"],
            min_amount={"value": 5_000, "currency": "USD"},
            max_amount={"value": 250_000, "currency": "USD"},
        ),
        _fin(
            "eac",
            "East African guarantee fund",
            provider={"name": "Regional fund", "type": "guarantee_fund"},
            instruments=["working_capital_guarantee"],
            eligible_exporter_countries=["EAC"],
            sme_focus=True,
            min_amount={"value": 500_000, "currency": "USD"},
        ),
        _fin(
            "in",
            "Indian pre-shipment credit",
            provider={"name": "Indian bank", "type": "exim_bank"},
            instruments=["pre_shipment_loan"],
            eligible_exporter_countries=["IN"],
            max_amount={"value": 1_000_000, "currency": "INR"},
        ),
        {"id": "t:fair", "kind": "fair", "title": "Coffee fair", "source_id": "t", "country": "KE"},
    ]
    store.upsert_records([parse_record(r) for r in raw])
    drain_outbox(store, backend)


def titles(client: TestClient, **params: Any) -> set[str]:
    resp = client.get("/api/v1/search", params={"kind": "finance", "size": 100, **params})
    assert resp.status_code == 200, resp.text
    return {i["title"] for i in resp.json()["items"]}


ALL = {
    "Global trade finance programme",
    "Kenyan export credit insurance",
    "East African guarantee fund",
    "Indian pre-shipment credit",
}


@pytest.mark.usefixtures("loaded")
def test_origin_is_bloc_aware_and_empty_means_open(client: TestClient) -> None:
    kenya = {
        "Global trade finance programme",
        "Kenyan export credit insurance",
        "East African guarantee fund",
    }
    assert titles(client, origin="KE") == kenya
    assert titles(client, origin="Kenya") == kenya
    # Uganda is in the EAC too, but the Kenyan programme is not for it
    assert titles(client, origin="Ouganda") == {
        "Global trade finance programme",
        "East African guarantee fund",
    }
    assert titles(client, origin="IN") == {
        "Global trade finance programme",
        "Indian pre-shipment credit",
    }


@pytest.mark.usefixtures("loaded")
def test_instrument_provider_type_and_sme_focus(client: TestClient) -> None:
    assert titles(client, instrument="credit_insurance") == {"Kenyan export credit insurance"}
    assert titles(client, instrument="credit_insurance,pre_shipment_loan") == {
        "Kenyan export credit insurance",
        "Indian pre-shipment credit",
    }
    assert titles(client, provider_type=["eca", "dfi"]) == {
        "Kenyan export credit insurance",
        "Global trade finance programme",
    }
    assert titles(client, sme_focus="true") == {
        "Global trade finance programme",
        "East African guarantee fund",
    }
    assert titles(client, sme_focus="false") == ALL - titles(client, sme_focus="true")
    assert titles(client, sme_focus="true", origin="KE", instrument="credit_guarantee") == {
        "Global trade finance programme"
    }


@pytest.mark.usefixtures("loaded")
def test_amount_ranges(client: TestClient) -> None:
    # amounts are in USD unless a currency is given; other currencies never exclude
    assert titles(client, amount_min=300_000) == ALL - {"Kenyan export credit insurance"}
    assert titles(client, amount_max=1_000) == ALL - {
        "Kenyan export credit insurance",
        "East African guarantee fund",
    }
    assert titles(client, amount_min=10_000, amount_max=20_000) == ALL - {
        "East African guarantee fund"
    }
    assert titles(client, amount_min=2_000_000, currency="inr") == ALL - {
        "Indian pre-shipment credit"
    }


@pytest.mark.usefixtures("loaded")
def test_without_kind_finance_filters_keep_other_records_out(client: TestClient) -> None:
    resp = client.get("/api/v1/search", params={"instrument": "credit_insurance"})
    assert [i["title"] for i in resp.json()["items"]] == ["Kenyan export credit insurance"]
    # origin restricts finance, not fairs
    resp = client.get("/api/v1/search", params={"origin": "IN", "size": 100})
    assert "Coffee fair" in {i["title"] for i in resp.json()["items"]}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"instrument": "free_money"}, 400, "instrument"),
        ({"provider_type": "bank"}, 400, "provider_type"),
        ({"origin": "Atlantis"}, 400, "origin"),
        ({"origin": "EAC"}, 400, "origin"),
        ({"sme_focus": "maybe"}, 422, "sme_focus"),
        ({"amount_min": "lots"}, 422, "amount_min"),
        ({"amount_min": "-5"}, 422, "amount_min"),
        ({"amount_min": "nan"}, 422, "amount_min"),
        ({"amount_max": "inf"}, 400, "amount_max"),
        ({"amount_min": "10", "amount_max": "5"}, 400, "amount_max"),
        ({"amount_min": "10", "currency": "E1R"}, 400, "currency"),
        ({"currency": "EURO"}, 422, "currency"),
    ],
)
def test_bad_finance_parameters(
    client: TestClient, params: dict[str, str], status: int, field: str
) -> None:
    resp = client.get("/api/v1/search", params=params)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["message"].startswith(field)


@pytest.mark.usefixtures("loaded")
def test_web_search_keeps_finance_filters_in_its_links(client: TestClient) -> None:
    resp = client.get("/search", params={"kind": "finance", "origin": "KE", "sme_focus": "true"})
    assert resp.status_code == 200
    assert "East African guarantee fund" in resp.text
    assert "Indian pre-shipment credit" not in resp.text
    # facet and sort links carry the filters on
    assert "origin=KE" in resp.text and "sme_focus=True" in resp.text
