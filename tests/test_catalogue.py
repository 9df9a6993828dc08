"""The starter catalogue shipped in crawlers/data: real records, loaded through the curated
pipeline, each with an official https URL and the date its facts were written down; dated fair
editions and corrected facts with the page that states them (crawlers/data/EVIDENCE.md)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from crawlers.demo import DATA_DIR, load_catalogue
from search_api.app import create_app
from search_api.domain.records import AnyRecord
from search_api.search import create_backend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.catalogue import FILES, load


@pytest.mark.parametrize("stem", sorted(FILES))
def test_catalogue_loads_without_validation_errors(stem: str) -> None:
    records = load(stem)
    kind, minimum = FILES[stem]
    assert len(records) >= minimum
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert r.kind == kind
        assert r.url and r.url.startswith("https://"), r.id
        assert r.as_of is not None, r.id


def test_requirements_cover_ten_markets_with_legal_references() -> None:
    records = load("requirements")
    markets = Counter(m for r in records for m in r.markets)
    assert len(markets) >= 10
    assert {"EU", "US", "GB", "JP", "CN", "CA", "AU", "IN"} <= set(markets)
    assert all(r.kind == "requirement" and r.legal_reference for r in records)
    assert any(
        r.kind == "requirement" and "1169/2011" in (r.legal_reference or "") for r in records
    )


def test_finance_sources_say_how_to_use_them() -> None:
    records = load("finance")
    for r in records:
        assert r.kind == "finance"
        assert r.provider is not None and r.provider.type, r.id
        assert r.instruments, r.id
    kinds = Counter(r.provider.type for r in records if r.kind == "finance" and r.provider)
    assert kinds["eca"] + kinds["exim_bank"] >= 20 and kinds["development_bank"] >= 3


# --------------------------------------------------------------------------- evidence

# The number of fairs whose next edition a public page dates (crawlers/data/EVIDENCE.md). It may
# only grow: a fair loses its dates only with a page saying so.
DATED_FAIRS = 5
DATED_IN_2027 = 4
EVIDENCE_LOG = DATA_DIR / "EVIDENCE.md"


def by_id(stem: str) -> dict[str, AnyRecord]:
    return {r.id.split(":", 1)[1]: r for r in load(stem)}


def test_every_dated_fair_carries_the_page_that_states_its_dates() -> None:
    fairs = [r for r in load("fairs") if r.kind == "fair"]
    dated = [r for r in fairs if r.start_date]
    assert len(dated) >= DATED_FAIRS
    assert sum(1 for r in dated if r.start_date and r.start_date.year == 2027) >= DATED_IN_2027
    for r in dated:
        assert r.kind == "fair" and r.start_date and r.end_date, r.id
        assert r.evidence_url and r.evidence_url.startswith(("https://", "http://")), r.id
        assert r.checked_on is not None, r.id
        assert r.end_date >= r.start_date, r.id
        # the next edition, as seen on the day it was checked: never a past one
        assert r.start_date > r.checked_on, r.id
        assert r.checked_on <= date.today(), r.id
        # the series facts stay next to the edition's dates
        assert r.frequency, r.id


def test_no_curated_fact_claims_a_check_without_its_day() -> None:
    for stem in FILES:
        for r in load(stem):
            if r.evidence_url:
                assert r.checked_on is not None, r.id
            if r.checked_on:
                assert r.as_of is not None and r.checked_on >= r.as_of - timedelta(days=366), r.id


def test_the_research_log_accounts_for_every_fair() -> None:
    log = EVIDENCE_LOG.read_text(encoding="utf-8")
    missing = [s for s in by_id("fairs") if f"`{s}`" not in log]
    assert not missing, f"fairs without a line in EVIDENCE.md: {missing}"


def test_the_research_log_names_every_evidence_page() -> None:
    log = EVIDENCE_LOG.read_text(encoding="utf-8")
    for stem in FILES:
        for r in load(stem):
            if r.evidence_url:
                slug = r.id.split(":", 1)[1]
                assert f"`{slug}`" in log, f"{slug} missing from EVIDENCE.md"
                assert r.evidence_url in log, f"{r.evidence_url} missing from EVIDENCE.md"


# ------------------------------------------------- fact check (issue 14, section 4)


def test_texworld_carries_its_name_since_july_2024() -> None:
    texworld = by_id("fairs")["texworld-paris"]
    assert texworld.title == "Texworld Apparel Sourcing Paris"
    assert "Evolution" not in texworld.title and texworld.evidence_url


def test_africas_big_7_left_the_gallagher_convention_centre() -> None:
    fair = by_id("fairs")["africas-big-7"]
    assert fair.kind == "fair"
    assert fair.venue and "Gallagher" not in fair.venue
    assert "Sandton Convention Centre" in (fair.summary or "")
    # renamed and moved to Cape Town after the Sandton edition of 2024
    assert fair.city == "Cape Town" and "CTICC" in fair.venue
    assert "Africa Food Show" in fair.title and fair.evidence_url


def test_nexim_points_to_its_current_site() -> None:
    nexim = by_id("finance")["nexim-nigeria"]
    assert nexim.url and urlsplit(nexim.url).hostname == "neximbank.gov.ng"


def test_eudr_no_longer_covers_printed_products() -> None:
    eudr = by_id("requirements")["eu-deforestation-regulation"]
    assert eudr.kind == "requirement"
    assert not any(code.startswith("49") for code in eudr.hs_codes)
    assert "printing" not in eudr.sectors
    assert "2025/2650" in (eudr.legal_reference or "") and eudr.evidence_url
    assert "48" in eudr.hs_codes  # paper stays in scope


def test_china_food_manufacturer_registration_is_decree_280() -> None:
    gacc = by_id("requirements")["cn-gacc-decree-248-overseas-food-manufacturer-registration"]
    assert gacc.kind == "requirement"
    assert "No. 280" in gacc.title and "No. 280" in (gacc.legal_reference or "")
    assert gacc.effective_date == date(2026, 6, 1) and gacc.status == "in_force"
    assert "Catalogue" in (gacc.summary or "") and gacc.evidence_url


def test_specialty_coffee_expo_is_world_of_coffee_san_diego() -> None:
    fair = by_id("fairs")["specialty-coffee-expo"]
    assert fair.title.startswith("World of Coffee San Diego") and fair.evidence_url
    assert "New Orleans" in (fair.summary or "")  # 2027 edition: the show moves


def test_india_market_access_initiative_is_part_of_the_export_promotion_mission() -> None:
    mai = by_id("finance")["india-market-access-initiative"]
    assert mai.kind == "finance" and mai.provider is not None
    assert "Export Promotion Mission" in mai.title
    assert "November 2025" in (mai.summary or "") and "DGFT" in mai.provider.name
    assert mai.evidence_url


def test_other_corrections_found_while_researching_the_fairs() -> None:
    fairs = by_id("fairs")
    gulfood, domotex = fairs["gulfood"], fairs["domotex"]
    assert gulfood.kind == "fair" and "Expo City Dubai" in (gulfood.venue or "")
    assert domotex.kind == "fair" and domotex.frequency == "biennial"
    assert all(fairs[k].evidence_url for k in ("gulfood", "domotex", "world-of-coffee"))


# --------------------------------------------------------------------------- the catalogue served


@pytest.mark.crawl
def test_2027_fairs_of_a_catalogue_only_data_dir(settings: Settings) -> None:
    """`tradepoint catalogue` on a fresh data dir, no demo: the 2027 calendar is not empty and
    holds only dated, evidenced editions."""
    assert load_catalogue(settings)
    store = Store(settings.sqlalchemy_url)
    backend = create_backend(settings)
    try:
        app = create_app(settings, store=store, backend=backend, background_indexer=False)
        with TestClient(app) as client:
            r = client.get("/api/v1/fairs", params={"date_from": "2027-01-01", "size": 100})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            ids = {i["id"] for i in items}
            assert {"starter_fairs:biofach", "starter_fairs:itb-berlin"} <= ids
            assert len(items) >= DATED_FAIRS
            for item in items:
                assert item["source_id"] == "starter_fairs"
                assert item["start_date"] >= "2027-01-01", item["id"]
                assert item["evidence_url"] and item["checked_on"], item["id"]
            ics = client.get("/api/v1/fairs.ics", params={"date_from": "2027-01-01"})
            assert ics.status_code == 200 and "BIOFACH" in ics.text
    finally:
        backend.close()
        store.close()
