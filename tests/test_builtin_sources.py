"""Every built-in source (crawlers/sources/*.yml) crawls its saved response, served on
loopback, and yields the records field by field. A real response is read where it lies in
../shared/realsources (the test skips when it is absent); the others are built in the shape the
publisher documents (tests/fixtures/builtin), as each YAML's `tested_with` says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from crawlers.sources import SOURCES_DIR, builtin_sources, load_source
from search_api.domain.records import AnyRecord
from search_api.domain.sources import SourceSpec
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.api_server import ApiRequest, ApiServer, Reply, api_server, json_reply
from tests.helpers.formats import crawl, errors_of
from tests.helpers.sites import REALSOURCES

pytestmark = pytest.mark.crawl

FIXTURES = Path(__file__).parent / "fixtures" / "builtin"

TESTED = {
    "us_federal_register_trade_rules",
    "gb_trade_tariff_import_controls",
    "us_regulations_gov_documents",
    "int_wto_eping_notifications",
    "int_ifc_gtfp_partner_banks",
    "int_wikidata_trade_fairs",
    "eu_eurlex_food_labelling",
    "eu_eurlex_packaging",
    "eu_eurlex_contaminants_residues",
    "eu_eurlex_deforestation",
}


def real(name: str) -> Path:
    path = REALSOURCES / "requirements" / name
    if not path.exists():
        pytest.skip(f"real response {name} not found in {REALSOURCES}")
    return path


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with api_server() as s:
        yield s


def on_loopback(spec: SourceSpec, server: ApiServer, **changes: Any) -> SourceSpec:
    """The built-in source, as shipped, with its start URLs moved to the loopback server
    (same paths and queries)."""
    urls = []
    for url in spec.start_urls:
        parts = urlsplit(url)
        urls.append(server.url(parts.path + (f"?{parts.query}" if parts.query else "")))
    return spec.model_copy(update={"start_urls": urls, **changes})


def records(store: Store, source_id: str) -> list[AnyRecord]:
    return [r for r in store.iter_records() if r.source_id == source_id]


def test_every_builtin_source_is_a_valid_reviewed_file_with_its_own_test() -> None:
    specs = builtin_sources()
    assert {s.id for s in specs} == TESTED, "each built-in source needs a test here"
    assert {s.kind for s in specs} == {"fair", "requirement", "finance"}
    for spec in specs:
        path = SOURCES_DIR / f"{spec.id}.yml"
        raw = yaml.safe_load(path.read_text())
        assert raw["tested_with"].startswith(("real response ", "documented shape")), spec.id
        if raw["tested_with"].startswith("documented shape"):
            fixture = raw["tested_with"].split("(")[1].rstrip(")")
            assert (Path(__file__).resolve().parents[1] / fixture).exists(), fixture
        assert spec.owner == "tradepoint" and spec.schedule, spec.id
        assert all(u.startswith("https://") for u in spec.start_urls), spec.id
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [s.id for s in specs if f"`{s.id}`" not in readme]
    assert missing == [], "every built-in source is in the README's source table"


def test_a_builtin_file_whose_id_is_not_its_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xx_other.yml"
    path.write_text((SOURCES_DIR / "int_wikidata_trade_fairs.yml").read_text())
    with pytest.raises(ValueError, match="must be the file's name"):
        load_source(path)


# --------------------------------------------------------------------------- requirements


def test_federal_register_real_responses(
    server: ApiServer, settings: Settings, store: Store
) -> None:
    search = real("federal_register_api_search_results_rin_0648-BM40.json").read_bytes()
    document = real("federal_register_api_document_2024-15931.json").read_bytes()
    pages = {"1": search, "2": document}

    def documents(request: ApiRequest) -> Reply:
        # what the source asks: rules and proposed rules, the fields it reads, 100 a page
        assert request.query["conditions[type][]"] == ["RULE", "PRORULE"]
        assert "comments_close_on" in request.query["fields[]"]
        assert request.arg("per_page") == "100"
        agencies = request.query["conditions[agencies][]"]
        body = pages["2" if agencies == ["environmental-protection-agency"] else "1"]
        return 200, "application/json", body

    server.route("/api/v1/documents.json", documents)
    spec = on_loopback(load_source(SOURCES_DIR / "us_federal_register_trade_rules.yml"), server)
    outcome = crawl(settings, store, spec.model_copy(update={"min_items": 1}))
    assert outcome.ok, outcome.message
    assert errors_of(store, outcome) == []
    by_number = {r.legal_reference: r for r in records(store, spec.id)}
    assert set(by_number) == {"89 FR 3902", "89 FR 7660", "89 FR 60796"}
    proposed = by_number["89 FR 7660"]
    assert proposed.kind == "requirement"
    assert proposed.title.startswith("Fisheries of the Exclusive Economic Zone Off Alaska")
    assert proposed.status == "proposed"  # "Proposed Rule"
    assert proposed.published_date == dt.date(2024, 2, 5)
    assert (
        proposed.authority == "Commerce Department, National Oceanic and Atmospheric Administration"
    )
    assert proposed.markets == ["US"]
    rule = by_number["89 FR 60796"]
    assert rule.kind == "requirement"
    assert rule.status == "adopted"  # "Rule"
    assert rule.effective_date == dt.date(2024, 8, 28)
    assert rule.published_date == dt.date(2024, 7, 29)
    assert rule.comment_deadline is None  # comments_close_on: null
    assert rule.url == (
        "https://www.federalregister.gov/documents/2024/07/29/2024-15931/"
        "fisheries-of-the-exclusive-economic-zone-off-alaska-amendment-126-to-the-fishery-"
        "management-plans"
    )
    assert rule.summary and rule.summary.startswith("NMFS issues this final rule")
    # 15 CFR 902 and 50 CFR 679 (fisheries) are in no map: no type or HS chapter is invented
    assert rule.requirement_type is None and rule.hs_codes == []


def test_federal_register_cfr_parts_give_type_and_hs_chapters(
    server: ApiServer, settings: Settings, store: Store
) -> None:
    """The small map in the YAML: 21 CFR 101 is food labelling; 40 CFR 180 pesticide MRLs."""
    results = [
        {
            "document_number": "2027-00001",
            "title": "Food Labeling: Front-of-Package Nutrition Information",
            "type": "Proposed Rule",
            "publication_date": "2027-01-14",
            "comments_close_on": "2027-05-15",
            "citation": "92 FR 1000",
            "agencies": [
                {"name": "Food and Drug Administration", "slug": "food-and-drug-administration"}
            ],
            "cfr_references": [{"title": 21, "part": "101"}],
            "html_url": "https://www.federalregister.gov/documents/2027/01/14/2027-00001/x",
        },
        {
            "document_number": "2027-00002",
            "title": "Pyraclostrobin; Pesticide Tolerances",
            "type": "Rule",
            "publication_date": "2027-01-15",
            "effective_on": "2027-01-15",
            "citation": "92 FR 2000",
            "agencies": [
                {
                    "name": "Environmental Protection Agency",
                    "slug": "environmental-protection-agency",
                }
            ],
            "cfr_references": [{"title": 40, "part": "180"}],
            "html_url": "https://www.federalregister.gov/documents/2027/01/15/2027-00002/y",
        },
        {
            "document_number": "2027-00003",
            "title": "Safety Standard for Toys",
            "type": "Rule",
            "publication_date": "2027-01-16",
            "citation": "92 FR 3000",
            "agencies": [
                {
                    "name": "Consumer Product Safety Commission",
                    "slug": "consumer-product-safety-commission",
                }
            ],
            "cfr_references": [],
            "html_url": "https://www.federalregister.gov/documents/2027/01/16/2027-00003/z",
        },
    ]

    def documents(request: ApiRequest) -> Reply:
        if request.arg("page") == "2":
            return json_reply({"count": 3, "results": []})
        return json_reply({"count": 3, "next_page_url": None, "results": results})

    server.route("/api/v1/documents.json", documents)
    spec = on_loopback(load_source(SOURCES_DIR / "us_federal_register_trade_rules.yml"), server)
    outcome = crawl(settings, store, spec.model_copy(update={"min_items": 1}))
    assert outcome.ok, outcome.message
    got = {r.legal_reference: r for r in records(store, spec.id)}
    labelling, tolerances, toys = got["92 FR 1000"], got["92 FR 2000"], got["92 FR 3000"]
    assert labelling.kind == tolerances.kind == toys.kind == "requirement"
    assert (labelling.requirement_type, labelling.status) == ("labelling", "proposed")
    assert labelling.comment_deadline == dt.date(2027, 5, 15)
    assert labelling.hs_codes[:2] == ["02", "03"] and "22" in labelling.hs_codes
    assert (tolerances.requirement_type, tolerances.status) == ("sps", "adopted")
    assert tolerances.hs_codes == ["07", "08", "09", "10", "11", "12"]
    assert toys.requirement_type == "tbt"  # by its agency, no CFR part given


def test_uk_trade_tariff_real_response(server: ApiServer, settings: Settings, store: Store) -> None:
    body = real("uk_trade_tariff_api_v2_commodity_1006101000.json").read_bytes()
    server.route("/api/v2/commodities/1006101000", lambda r: (200, "application/json", body))
    spec = load_source(SOURCES_DIR / "gb_trade_tariff_import_controls.yml")
    spec = spec.model_copy(
        update={
            "start_urls": [server.url("/api/v2/commodities/1006101000")],
            "min_items": 1,
        }
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert errors_of(store, outcome) == []
    got = {r.title: r for r in records(store, spec.id)}
    # the commodity's 41 measures hold two control measures (type series B): 360 and 750
    assert sorted(got) == [
        "Import control of organic products: 1006101000 For sowing",
        "Phytosanitary Certificate (import): 1006101000 For sowing",
    ]
    phyto = got["Phytosanitary Certificate (import): 1006101000 For sowing"]
    assert phyto.kind == "requirement"
    assert phyto.requirement_type == "sps"
    assert phyto.summary == "N851 UN/EDIFACT certificates: Phytosanitary certificate"
    assert phyto.legal_reference == "C0001/21"
    assert phyto.hs_codes == ["100610"]
    assert phyto.markets == ["GB"]
    assert phyto.origins == []  # ERGA OMNES (1011): every origin
    assert phyto.effective_date == dt.date(2021, 1, 1)
    assert phyto.status == "in_force"
    assert phyto.url == "https://www.trade-tariff.service.gov.uk/commodities/1006101000"
    organic = got["Import control of organic products: 1006101000 For sowing"]
    assert organic.kind == "requirement"
    assert organic.requirement_type == "certification"
    assert organic.summary == (
        "C644 Other certificates: Certificate of inspection for organic products; "
        "Y929 Particular provisions: Goods not concerned by Regulation (EC) No 834/2007 "
        "(organic products)"
    )
    assert organic.legal_reference == "X0693/19"


def test_regulations_gov_real_response_deadline_in_eastern_time(
    server: ApiServer, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = yaml.safe_load(
        real("regsgov_v4_vcr_regulations_dot_gov_v4_multi_document_result.yml").read_text()
    )
    body = cassette["http_interactions"][0]["response"]["body"]["string"].encode()
    monkeypatch.setenv("TRADEPOINT_SECRET_REGULATIONS_GOV_API_KEY", "test-key-8c1")

    def documents(request: ApiRequest) -> Reply:
        if request.headers.get("x-api-key") != "test-key-8c1":
            return json_reply({"error": {"code": "API_KEY_MISSING"}}, 403)
        if request.arg("page[number]") != "1":
            return json_reply({"data": [], "meta": {}})
        return 200, "application/json", body

    server.route("/v4/documents", documents)
    spec = on_loopback(load_source(SOURCES_DIR / "us_regulations_gov_documents.yml"), server)
    outcome = crawl(settings, store, spec.model_copy(update={"min_items": 1}))
    assert outcome.ok, outcome.message
    got = {r.url: r for r in records(store, spec.id)}
    assert set(got) == {
        "https://www.regulations.gov/document/DOI_FRDOC_0001-0108",
        "https://www.regulations.gov/document/BIA_FRDOC_0001-0140",
    }
    for record in got.values():
        assert record.kind == "requirement"
        assert record.title == "American Indian Probate Regulations"
        assert record.status == "proposed"
        # 2021-02-10T04:59:59Z is 23:59:59 on 9 February in US Eastern time
        assert record.comment_deadline == dt.date(2021, 2, 9)
        assert record.published_date == dt.date(2021, 1, 7)
        assert record.legal_reference == "FR Doc. 2020-28306"
        assert record.markets == ["US"]
        assert record.requirement_type is None  # DOI and BIA are in no map


def test_wto_eping_documented_shape(
    server: ApiServer, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEPOINT_SECRET_WTO_API_KEY", "wto-test-key")
    body = (FIXTURES / "int_wto_eping_notifications.json").read_bytes()

    def search(request: ApiRequest) -> Reply:
        if request.headers.get("ocp-apim-subscription-key") != "wto-test-key":
            return json_reply({"statusCode": 401}, 401)
        assert request.arg("language") == "1" and request.arg("pageSize") == "100"
        if request.arg("page") != "1":
            return json_reply({"items": [], "totalCount": 4})
        return 200, "application/json", body

    server.route("/eping/notifications/search", search)
    spec = on_loopback(load_source(SOURCES_DIR / "int_wto_eping_notifications.yml"), server)
    outcome = crawl(settings, store, spec.model_copy(update={"min_items": 1}))
    assert outcome.ok, outcome.message
    assert errors_of(store, outcome) == []
    got = {r.title: r for r in records(store, spec.id)}
    assert len(got) == 3  # the addendum updated the notification it amends
    mrl = got["Draft regulation amending maximum residue levels for a pesticide in coffee beans"]
    assert mrl.kind == "requirement"
    assert mrl.requirement_type == "sps"
    assert mrl.markets == ["EU"]
    assert mrl.hs_codes == ["090111"]
    assert mrl.published_date == dt.date(2026, 11, 30)  # the addendum's
    assert mrl.comment_deadline == dt.date(2026, 12, 14)  # the notification's, kept
    assert mrl.effective_date == dt.date(2027, 5, 1)  # the addendum's
    assert mrl.legal_reference == "G/SPS/N/EU/9001/Add.1"
    assert mrl.status == "proposed"
    assert mrl.summary == "Addendum: the regulation was adopted and applies from 1 May 2027."
    honey = got["Draft Kenya Standard for packaged honey: labelling requirements"]
    assert honey.kind == "requirement"
    assert (honey.requirement_type, honey.markets, honey.hs_codes) == ("tbt", ["KE"], ["040900"])
    assert honey.comment_deadline == dt.date(2026, 12, 19)
    assert honey.effective_date == dt.date(2027, 4, 1)
    assert honey.url == "https://eping.wto.org/en/Search?viewData=G/TBT/N/KEN/9002"
    tea = got["Draft labelling rules for prepackaged tea"]
    assert tea.kind == "requirement" and tea.markets == ["TW"]


def test_eurlex_topic_feeds_documented_shape(
    server: ApiServer, settings: Settings, store: Store
) -> None:
    body = (FIXTURES / "eu_eurlex_oj_l.rss").read_bytes()
    server.route("/EN/display-feed.rss", lambda r: (200, "application/rss+xml", body))
    expected = {
        "eu_eurlex_contaminants_residues": ("32026R9001", "sps"),
        "eu_eurlex_food_labelling": ("32026R9002", "labelling"),
        "eu_eurlex_deforestation": ("32026R9003", "documentation"),
        "eu_eurlex_packaging": ("32026R9004", "packaging"),
    }
    for source_id, (celex, requirement_type) in expected.items():
        spec = on_loopback(load_source(SOURCES_DIR / f"{source_id}.yml"), server)
        outcome = crawl(settings, store, spec)
        assert outcome.ok, (source_id, outcome.message)
        (record,) = records(store, source_id)  # one topic's act, not the others'
        assert record.kind == "requirement"
        assert record.legal_reference == celex, source_id
        assert record.requirement_type == requirement_type
        assert record.markets == ["EU"]
        assert record.status == "adopted"
        assert record.url is not None
        assert record.url.startswith("https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX")
        assert record.url.endswith(celex)
    (eudr,) = records(store, "eu_eurlex_deforestation")
    assert eudr.kind == "requirement"
    assert eudr.published_date == dt.date(2026, 11, 5)
    assert "49" not in eudr.hs_codes  # printed products left the EUDR (Regulation 2025/2650)


# --------------------------------------------------------------------------- fairs, finance


def test_wikidata_trade_fairs_documented_shape(
    server: ApiServer, settings: Settings, store: Store
) -> None:
    body = (FIXTURES / "int_wikidata_trade_fairs.json").read_bytes()

    def sparql(request: ApiRequest) -> Reply:
        assert request.arg("format") == "json"
        assert "wd:Q57305" in (request.arg("query") or "")
        return 200, "application/sparql-results+json", body

    server.route("/sparql", sparql)
    spec = on_loopback(load_source(SOURCES_DIR / "int_wikidata_trade_fairs.yml"), server)
    outcome = crawl(settings, store, spec.model_copy(update={"min_items": 1}))
    assert outcome.ok, outcome.message
    got = {r.title: r for r in records(store, spec.id)}
    food = got["Example Food Fair"]
    assert food.kind == "fair"
    assert (food.country, food.city, food.organiser) == ("DE", "Cologne", "Example Messe GmbH")
    assert food.frequency == "biennial"
    assert food.url == "https://www.example-food-fair.com/"
    assert food.start_date is None  # a series: no invented dates
    textile = got["Example Textile Expo"]
    assert textile.kind == "fair"
    assert (textile.country, textile.frequency, textile.organiser) == ("KE", "annual", None)
    spring = got["Example Spring Fair"]
    assert spring.kind == "fair" and spring.frequency is None and spring.country is None


def test_ifc_gtfp_partner_banks_documented_shape(
    server: ApiServer, settings: Settings, store: Store
) -> None:
    body = (FIXTURES / "int_ifc_gtfp_partner_banks.json").read_bytes()

    def soda(request: ApiRequest) -> Reply:
        assert "GTFP" in (request.arg("$where") or "")
        if request.arg("$offset") != "0":
            return json_reply([])  # past the last row: Socrata's empty page
        return 200, "application/json", body

    server.route("/resource/efin-cagm.json", soda)
    spec = on_loopback(load_source(SOURCES_DIR / "int_ifc_gtfp_partner_banks.yml"), server)
    outcome = crawl(settings, store, spec.model_copy(update={"min_items": 1}))
    assert outcome.ok, outcome.message
    assert [r.arg("$offset") for r in server.hits("/resource/efin-cagm.json")] == ["0", "1000"]
    got = {
        r.provider.name: r for r in records(store, spec.id) if r.kind == "finance" and r.provider
    }
    kenya = got["Example Commercial Bank Ltd"]
    assert kenya.kind == "finance"
    assert kenya.provider is not None and kenya.provider.type == "commercial_bank"
    assert kenya.eligible_exporter_countries == ["KE"]
    assert kenya.instruments == ["credit_guarantee", "risk_participation"]
    assert kenya.access_channel == "partner_bank"
    assert kenya.as_of == dt.date(2019, 6, 27)
    assert kenya.max_amount is None and kenya.min_amount is None  # the programme's envelope
    assert kenya.url is not None and kenya.url.endswith(
        "/900101/gtfp-example-commercial-bank-kenya"
    )
    assert got["Banco Ejemplo S.A."].eligible_exporter_countries == ["CI"]
    regional = got["Example Regional Trade Bank"]
    assert regional.kind == "finance" and regional.eligible_exporter_countries == []
