"""Sample records of every kind for the search backend contract (tests/contract), and the
expected answers computed from them in Python."""

from __future__ import annotations

from collections import Counter
from typing import Any

from search_api.domain.records import AnyRecord, parse_record
from search_api.search.base import FACET_FIELDS, SearchResult, record_status


def _fair(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "kind": "fair", "title": title, "source_id": "test_fairs", **kw}


def _req(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "kind": "requirement", "title": title, "source_id": "test_reqs", **kw}


def _fin(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "kind": "finance", "title": title, "source_id": "test_finance", **kw}


RAW_RECORDS: list[dict[str, Any]] = [
    # ---- fairs
    _fair(
        "f-anuga",
        "Anuga Cologne food and beverage fair",
        summary="The world's largest trade fair for food and beverages.",
        country="DE",
        city="Köln",
        sectors=["food", "beverages"],
        start_date="2025-10-04",
        end_date="2025-10-08",
        url="https://www.anuga.com/",
        stats={"exhibitors": 7800, "visitors": 140000, "year": 2023},
        frequency="biennial",
    ),
    _fair(
        "f-ambiente",
        "Ambiente consumer goods fair",
        summary="Home decor, gifts and tableware.",
        country="DE",
        city="Frankfurt",
        sectors=["home_decor", "gifts"],
        start_date="2026-02-06",
        end_date="2026-02-10",
    ),
    _fair(
        "f-besancon",
        "Foire comtoise de Besançon",
        summary="Salon régional de l'agriculture et de l'artisanat.",
        country="FR",
        city="Besançon",
        sectors=["agriculture", "handicrafts"],
        start_date="2025-09-12",
        end_date="2025-09-14",
        language="fr",
        scope="regional",
    ),
    _fair(
        "f-sial",
        "SIAL Paris food innovation fair",
        summary="Food innovation exhibition.",
        country="FR",
        city="Paris",
        sectors=["food"],
        start_date="2026-10-17",
        end_date="2026-10-21",
        status="rescheduled",
    ),
    _fair(
        "f-nairobi",
        "Nairobi Coffee Expo",
        summary="Specialty coffee growers meet roasters.",
        country="KE",
        city="Nairobi",
        sectors=["coffee_tea_cocoa", "agriculture"],
        start_date="2025-06-01",
        end_date="2025-06-03",
        status="cancelled",
    ),
    _fair(
        "f-gulfood",
        "Gulfood Dubai",
        summary="Food and beverage sourcing in the Gulf.",
        country="AE",
        city="Dubai",
        markets=["GCC"],
        sectors=["food", "beverages"],
        language="en",
        start_date="2026-02-16",
        end_date="2026-02-20",
    ),
    _fair(
        "f-fancyfood",
        "Summer Fancy Food Show",
        summary="Specialty food trade event in New York.",
        text="Exhibitors include specialty producers of cheese, chocolate, olive oil and coffee.",
        country="US",
        city="New York",
        sectors=["food"],
        start_date="2025-06-29",
        end_date="2025-07-01",
    ),
    _fair(
        "f-cafe-expo",
        "Café Expo Chicago",
        summary="Coffeehouse equipment show; dates to be announced.",
        country="US",
        sectors=["coffee_tea_cocoa"],
        usual_month=5,
    ),
    _fair(
        "f-old-textile",
        "Old Textile Fair Leipzig",
        country="DE",
        sectors=["textiles"],
        start_date="2025-03-01",
        end_date="2025-03-02",
        withdrawn=True,
    ),
    # ---- requirements
    _req(
        "r-eu-coffee",
        "EU labelling rules for roasted coffee",
        summary="Labelling of roasted coffee placed on the EU market.",
        markets=["EU"],
        hs_codes=["0901"],
        sectors=["coffee_tea_cocoa"],
        requirement_type="labelling",
        status="in_force",
        effective_date="2025-07-01",
        published_date="2024-12-20",
        authority="European Commission",
        language="en",
    ),
    _req(
        "r-fr-roasted",
        "Marking of roasted coffee packages",
        summary="Origin marking for roasted, not decaffeinated coffee.",
        markets=["FR"],
        hs_codes=["090121"],
        sectors=["coffee_tea_cocoa"],
        requirement_type="marking",
        status="adopted",
        published_date="2025-01-15",
    ),
    _req(
        "r-us-spices",
        "FDA prior notice for coffee, tea and spices",
        summary="Prior notice of imported food shipments.",
        markets=["US"],
        hs_codes=["09"],
        sectors=["food"],
        requirement_type="documentation",
        status="in_force",
        effective_date="2024-12-01",
        authority="US FDA",
    ),
    _req(
        "r-eu-bakery",
        "EU acrylamide limits for bakery products",
        summary="Proposed benchmark levels for biscuits and crackers.",
        markets=["EU"],
        hs_codes=["1905"],
        sectors=["food"],
        requirement_type="sps",
        status="proposed",
    ),
    # ---- finance
    _fin(
        "fin-ke",
        "Kenya export credit guarantee for agribusiness",
        summary="Guarantees for pre-shipment finance.",
        # a finance record's markets are where it helps exporters sell: its destinations
        destinations=["KE"],
        sectors=["agriculture"],
        provider={"name": "Kenya Exim", "type": "exim_bank"},
        instruments=["credit_guarantee", "pre_shipment_loan"],
    ),
    _fin(
        "fin-us",
        "EXIM working capital loan guarantee",
        summary="Working capital for US exporters.",
        markets=["US"],
        sectors=["multi_sector"],
        provider={"name": "Export-Import Bank of the United States", "type": "eca"},
        instruments=["working_capital_guarantee"],
        sme_focus=True,
    ),
]


def sample_records() -> list[AnyRecord]:
    """A fresh list of parsed sample records (fairs, requirements, finance)."""
    return [parse_record(dict(r)) for r in RAW_RECORDS]


def ids(result: SearchResult) -> list[str]:
    return [item["id"] for item in result.items]


def expected_facets(records: list[AnyRecord]) -> dict[str, list[tuple[str, int]]]:
    """Facet counts computed in Python: (value, count) sorted by count desc then value."""
    out: dict[str, list[tuple[str, int]]] = {}
    for field in FACET_FIELDS:
        counter: Counter[str] = Counter()
        for r in records:
            # An undated fair series has no status to count (search/base.py record_status).
            value = record_status(r) if field == "status" else getattr(r, field, None)
            values = value if isinstance(value, list) else [value] if value else []
            counter.update(set(values))
        out[field] = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return out


def facet_pairs(result: SearchResult) -> dict[str, list[tuple[str, int]]]:
    return {f: [(v.value, v.count) for v in vals] for f, vals in result.facets.items()}
