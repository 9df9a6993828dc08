"""Backend contract, finance filters: every backend must pass these unchanged.

Only `SearchBackend` and `SearchQuery` are used; bloc expansion is the caller's job (the query
carries the codes already expanded), so these cases hold for any backend.
"""

from __future__ import annotations

from typing import Any

import pytest

from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend, SearchQuery


def _fin(id: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "kind": "finance", "title": f"Programme {id}", "source_id": "t_fin", **kw}


RECORDS = [
    _fin(
        "open-sme",
        provider={"name": "Multilateral bank", "type": "development_bank"},
        instruments=["risk_participation", "credit_guarantee"],
        sme_focus=True,
        min_amount={"value": 10_000, "currency": "USD"},
        max_amount={"value": 2_000_000, "currency": "USD"},
    ),
    _fin(
        "ke-only",
        provider={"name": "Kenyan agency", "type": "eca"},
        instruments=["credit_insurance"],
        eligible_exporter_countries=["KE"],
        sme_focus=False,
        max_amount={"value": 50_000, "currency": "USD"},
    ),
    _fin(
        "eac-wide",
        provider={"name": "Regional fund", "type": "guarantee_fund"},
        instruments=["working_capital_guarantee"],
        eligible_exporter_countries=["EAC"],
        min_amount={"value": 100_000, "currency": "USD"},
    ),
    _fin(
        "gh-only",
        provider={"name": "Ghana bank", "type": "exim_bank"},
        instruments=["pre_shipment_loan"],
        eligible_exporter_countries=["GH"],
        min_amount={"value": 1_000, "currency": "EUR"},
        max_amount={"value": 20_000, "currency": "EUR"},
    ),
    _fin("no-details"),
    {
        "id": "req-cn",
        "kind": "requirement",
        "title": "Rule for goods from China",
        "source_id": "t_req",
        "origins": ["CN"],
    },
    {"id": "req-all", "kind": "requirement", "title": "Rule for all", "source_id": "t_req"},
    {"id": "fair", "kind": "fair", "title": "A fair", "source_id": "t_fair", "country": "FR"},
]
FINANCE = {"open-sme", "ke-only", "eac-wide", "gh-only", "no-details"}


@pytest.fixture
def fin(backend: SearchBackend) -> SearchBackend:
    backend.index([parse_record(dict(r)) for r in RECORDS])
    return backend


def found(backend: SearchBackend, **kw: Any) -> set[str]:
    result = backend.search(SearchQuery(size=100, **kw))
    assert result.total == len(result.items)
    return {item["id"] for item in result.items}


def test_instruments_and_provider_types(fin: SearchBackend) -> None:
    assert found(fin, instruments=("credit_guarantee",)) == {"open-sme"}
    assert found(fin, instruments=("credit_insurance", "pre_shipment_loan")) == {
        "ke-only",
        "gh-only",
    }
    assert found(fin, provider_types=("eca", "exim_bank")) == {"ke-only", "gh-only"}
    # AND across filters
    assert found(fin, provider_types=("eca",), instruments=("pre_shipment_loan",)) == set()


def test_origin_eligibility_empty_means_open_to_all(fin: SearchBackend) -> None:
    # a Kenyan exporter: listed directly, through its bloc (EAC), or no restriction at all
    kenya = found(fin, origins=("KE", "EAC", "COMESA"), kind=("finance",))
    assert kenya == {"open-sme", "ke-only", "eac-wide", "no-details"}
    assert found(fin, origins=("GH", "ECOWAS"), kind=("finance",)) == {
        "open-sme",
        "gh-only",
        "no-details",
    }
    # requirements restricted to other origins drop out; fairs are never restricted
    assert found(fin, origins=("KE",), kind=("requirement", "fair")) == {"req-all", "fair"}
    assert found(fin, origins=("CN",), kind=("requirement",)) == {"req-cn", "req-all"}


def test_sme_focus(fin: SearchBackend) -> None:
    assert found(fin, sme_focus=True) == {"open-sme"}
    assert found(fin, sme_focus=False) == FINANCE - {"open-sme"}


def test_amount_ranges_overlap(fin: SearchBackend) -> None:
    # 5,000 USD: below the minimum of open-sme and eac-wide; the EUR programme is not compared
    assert found(fin, amount_min=5_000, amount_max=5_000, currency="USD") == FINANCE - {
        "open-sme",
        "eac-wide",
    }
    # bounds are inclusive
    assert "open-sme" in found(fin, amount_max=10_000, currency="USD")
    # 1,000,000 USD and more: above ke-only's maximum
    assert found(fin, amount_min=1_000_000, currency="USD") == FINANCE - {"ke-only"}
    # up to 5,000 EUR: gh-only (EUR 1,000-20,000) overlaps; USD bounds are not compared
    assert found(fin, amount_max=5_000, currency="EUR") == FINANCE
    assert found(fin, amount_min=50_000, currency="EUR") == FINANCE - {"gh-only"}
    # only finance records have amounts to match
    assert found(fin, amount_min=0, currency="USD") == FINANCE


def test_finance_filters_combine_with_the_rest(fin: SearchBackend) -> None:
    assert found(fin, q="kenyan", origins=("KE",)) == {"ke-only"}
    result = fin.search(SearchQuery(size=0, instruments=("credit_insurance",)))
    assert result.total == 1
    # facets are counted under the finance filters too
    assert {(v.value, v.count) for v in result.facets["kind"]} == {("finance", 1)}
