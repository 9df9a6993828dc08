"""Issue 16, tried as the exporters would, on the starter catalogue alone (no demo fairs): a
Kenyan roasted-coffee exporter (HS 090121) selling to France, a Vietnamese cashew exporter
(0801) to the USA, a Peruvian alpaca-textile firm (5102) looking at Germany, searching in
French and Spanish. In-process: the JSON API and the web pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.domain import hs_sectors
from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.services.feeds import build_atom
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.catalogue import FILES, load
from tests.helpers.factories import fair
from tests.helpers.mail import smtp_server

EXPORTERS = [
    # (market, hs, origin)
    ("FR", "090121", "KE"),
    ("US", "0801", "VN"),
    ("DE", "5102", "PE"),
]


@pytest.fixture
def catalogue(store: Store, backend: SearchBackend) -> None:
    store.upsert_records([r for stem in FILES for r in load(stem)])
    drain_outbox(store, backend)


def market(client: TestClient, code: str, **params: str) -> dict[str, Any]:
    resp = client.get(f"/api/v1/markets/{code}", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def requirements(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for items in body["requirements"].values() for item in items]


# --------------------------------------------------------------------------- 1. all products


@pytest.mark.usefixtures("catalogue")
def test_rules_for_every_product_stay_under_a_product(client: TestClient) -> None:
    body = market(client, "FR", hs="090121", origin="KE")
    kept = {
        i["title"]
        for i in requirements(body)
        if (i.get("matched_product") or {}).get("via") == "all_products"
    }
    for words in ("Triman", "PPWR", "REACH", "General Product Safety", "REX", "ISPM 15"):
        assert any(words in title for title in kept), words
    lucid = market(client, "DE", hs="5102", origin="PE")
    assert any("LUCID" in i["title"] for i in requirements(lucid))


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("hs", ["090121", "0801", "5102", "61", "8517", "940360"])
@pytest.mark.parametrize("code", ["FR", "DE", "US", "EU"])
def test_under_any_product_every_rule_without_hs_codes_is_kept(
    client: TestClient, code: str, hs: str
) -> None:
    everything = requirements(market(client, code))
    general = {i["id"] for i in everything if not i.get("hs_codes")}
    assert general, "the catalogue has rules for every product in this market"
    with_product = requirements(market(client, code, hs=hs))
    marked = {
        i["id"]
        for i in with_product
        if (i.get("matched_product") or {}).get("via") == "all_products"
    }
    assert marked == general
    # ... and the product's own rules come first in each group
    for items in market(client, code, hs=hs)["requirements"].values():
        vias = [(i.get("matched_product") or {}).get("via") for i in items]
        assert vias == sorted(vias, key=lambda v: v != "code")


@pytest.mark.usefixtures("catalogue")
def test_search_api_keeps_and_marks_them(client: TestClient) -> None:
    resp = client.get(
        "/api/v1/search", params={"hs": "090121", "market": "FR", "kind": "requirement"}
    )
    items = resp.json()["items"]
    vias = {i["title"]: i["matched_product"]["via"] for i in items}
    assert vias[
        "France: Triman logo and sorting instructions on household packaging and products"
    ] == ("all_products")
    assert "code" in vias.values()
    html = client.get("/search", params={"hs": "090121", "market": "FR"}).text
    assert html.count('class="s s-all"') >= 6
    # finance without HS codes is open to every product too
    finance = client.get("/api/v1/search", params={"hs": "090121", "kind": "finance"}).json()
    everything = client.get("/api/v1/search", params={"kind": "finance", "size": 0}).json()
    assert finance["total"] == everything["total"] > 0


@pytest.mark.usefixtures("catalogue")
def test_web_page_marks_them(client: TestClient) -> None:
    html = client.get("/markets/FR", params={"hs": "090121", "origin": "KE"}).text
    assert "Triman" in html and "REACH" in html
    assert html.count('class="s s-all"') >= 6
    assert "have no HS code: they apply to every product" in html
    html = client.get("/markets/FR", params={"hs": "090121", "lang": "fr"}).text
    assert "Tous produits" in html


def test_saved_search_feed_marks_them(settings: Settings) -> None:
    records = [
        parse_record(
            {"id": "t:ppwr", "kind": "requirement", "title": "Packaging law", "source_id": "t"}
        ),
        parse_record(
            {
                "id": "t:coffee",
                "kind": "requirement",
                "title": "Coffee rule",
                "hs_codes": ["0901"],
                "source_id": "t",
            }
        ),
    ]
    args = {"title": "t", "feed_id": "x", "self_url": "s", "alternate_url": "a", "updated": None}
    atom = build_atom(records, settings, hs="090121", **args).decode()
    entries = atom.split("<entry>")
    assert 'term="all_products"' in entries[1] and 'term="all_products"' not in entries[2]
    assert "all_products" not in build_atom(records, settings, **args).decode()


# --------------------------------------------------------------------------- 2. fairs


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(("code", "hs", "origin"), EXPORTERS)
def test_the_first_fair_fits_the_product(
    client: TestClient, code: str, hs: str, origin: str
) -> None:
    body = market(client, code, hs=hs, origin=origin)
    first = body["fairs"][0]
    wanted = hs_sectors.product_sectors(hs)
    assert wanted is not None
    assert set(first["sectors"]) & {*wanted.sectors, *wanted.related}, first["title"]
    assert first["matched_product"]["fit"] in ("product", "related")
    # relevance first: no fair after one that fits worse fits better
    tiers = [hs_sectors.TIERS.index(f["matched_product"]["fit"]) for f in body["fairs"]]
    assert tiers == sorted(tiers)
    # without a product, fairs keep their date order and carry no reason
    plain = market(client, code, origin=origin)
    assert all("matched_product" not in f for f in plain["fairs"])


@pytest.mark.usefixtures("catalogue")
def test_the_three_exporters_first_fairs(client: TestClient) -> None:
    assert market(client, "FR", hs="090121")["fairs"][0]["title"] == "SIAL Paris"
    cashew = market(client, "US", hs="0801")["fairs"]
    # a food fair whose main sector is food, before the seafood fair that also lists food
    assert cashew[0]["sectors"][0] == "food"
    titles = [f["title"] for f in cashew]
    assert titles.index("Seafood Expo North America") > 1
    assert "JCK Las Vegas" in titles[-4:] or titles.index("JCK Las Vegas") > 4
    alpaca = market(client, "DE", hs="5102")["fairs"]
    assert alpaca[0]["matched_product"]["fit"] == "product"
    assert "textiles" in alpaca[0]["sectors"]
    assert {"Spielwarenmesse", "ITB Berlin", "drupa"}.isdisjoint(f["title"] for f in alpaca[:4])


@pytest.mark.usefixtures("catalogue")
def test_the_page_says_why_a_fair_is_shown(client: TestClient) -> None:
    html = client.get("/markets/FR", params={"hs": "090121", "origin": "KE"}).text
    fairs = html[html.index("Upcoming fairs") :]
    assert fairs.index("SIAL Paris") < fairs.index("Maison&amp;Objet")
    assert "Related to your product: food, beverages" in fairs
    assert "Other sectors: home decor, furniture, gifts, handicrafts" in fairs
    html = client.get("/markets/DE", params={"hs": "5102", "lang": "es"}).text
    assert "Coincide con su producto: textil<" in unescape(html)
    assert "Pelo fino u ordinario, sin cardar ni peinar" in unescape(html)


# --------------------------------------------------------------------------- 3. languages


# query -> (a word the first English record must have, the kind it must be if any)
RELEVANT = {
    "emballage": ("packaging", None),  # a packaging rule or fair
    "étiquetage": ("label", None),
    "etiquetado": ("label", None),
    "envase": ("packaging", None),  # a packaging rule or fair
    "embalaje": ("packaging", None),  # a packaging rule or fair
    "financement": ("fund", "finance"),  # financing, funds, funding
    "assurance-crédit": ("credit insurance", "finance"),
    "garantía": ("guarantee", "finance"),
    "salon alimentaire": ("food", "fair"),
}


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(("q", "relevant"), sorted(RELEVANT.items()))
def test_french_and_spanish_queries_find_english_records(
    client: TestClient, q: str, relevant: tuple[str, str | None]
) -> None:
    english, kind = relevant
    body = client.get("/api/v1/search", params={"q": q, "size": 5}).json()
    assert body["total"] > 0, q
    first = body["items"][0]
    assert first["language"] == "en" and first["kind"] == (kind or first["kind"]), first["title"]
    text = " ".join(str(first.get(f) or "") for f in ("title", "summary", "text")).lower()
    assert english in text or (english == "fund" and "financ" in text), (q, first["title"])
    # the web page finds the same and says what else it searched for
    html = client.get("/search", params={"q": q}).text
    assert first["title"] in unescape(html)
    assert "Also searched for:" in html


@pytest.mark.usefixtures("catalogue")
def test_salon_alimentaire_finds_food_fairs_first(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "salon alimentaire", "size": 3}).json()
    assert body["items"][0]["kind"] == "fair"
    assert "food" in body["items"][0]["sectors"]


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("q", "code"),
    [("café", "0901"), ("cacao", "18"), ("anacardos", "0801"), ("noix de cajou", "0801")],
)
def test_the_product_finder_in_french_and_spanish(client: TestClient, q: str, code: str) -> None:
    items = client.get("/api/v1/products", params={"q": q}).json()["items"]
    assert items and items[0]["code"].startswith(code), items[:1]
    assert all(not i["code"].startswith("38") for i in items)


@pytest.mark.usefixtures("catalogue")
def test_product_words_that_find_no_record_offer_their_hs_codes(client: TestClient) -> None:
    html = client.get("/search", params={"q": "anacardos", "lang": "es"}).text
    assert 'href="/search?hs=080132"' in html and "Nueces de marañón" in unescape(html)
    # ... and that link finds the rules for the product, those for every product included
    body = client.get("/api/v1/search", params={"hs": "080132", "kind": "requirement"}).json()
    vias = {i["matched_product"]["via"] for i in body["items"]}
    assert vias == {"code", "all_products"}


# --------------------------------------------------------------------------- lang: one rule


@pytest.mark.usefixtures("catalogue")
def test_a_language_no_record_is_in_is_said(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"lang": "klingon"}).json()
    assert body["total"] == 0
    (notice,) = body["notices"]
    assert notice["code"] == "no_records_in_language" and notice["language"] == "tlh"
    assert notice["message"] == (
        "lang: No record is in Klingon (tlh) yet; records are in: English (en)."
    )
    assert "notices" not in client.get("/api/v1/search", params={"lang": "en"}).json()
    html = client.get("/search", params={"language": "tlh"}).text
    assert "No record is in Klingon yet; records are in: English." in html
    html = client.get("/search", params={"language": "tlh", "lang": "fr"}).text
    assert re.search(r"Aucune fiche n.est en klingon", unescape(html), re.IGNORECASE)


@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/fairs", "/search"])
def test_a_word_that_is_no_language_is_refused_everywhere_alike(
    client: TestClient, path: str
) -> None:
    name = "language" if path == "/search" else "lang"
    resp = client.get(path, params={name: "xx"}, headers={"accept": "text/html"})
    assert resp.status_code == 400
    assert "unknown language 'xx'; use an ISO 639 code such as fr" in unescape(resp.text)


@pytest.fixture
def mail_client(
    settings: Settings, store: Store, backend: SearchBackend, catalogue: None
) -> Iterator[TestClient]:
    with smtp_server() as box:
        mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": box.port})
        app = create_app(mail, store=store, backend=backend, background_indexer=False)
        with TestClient(app) as c:
            yield c


def test_saved_searches_follow_the_same_rule(mail_client: TestClient) -> None:
    body = {"email": "advisor@example.org", "kind": ["requirement"], "lang": "xx"}
    resp = mail_client.post("/api/v1/subscriptions", json=body)
    assert resp.status_code == 400
    assert "unknown language 'xx'" in resp.json()["error"]["message"]
    resp = mail_client.post("/api/v1/subscriptions", json={**body, "lang": "Klingon"})
    assert resp.status_code == 202, resp.text
    (notice,) = resp.json()["notices"]
    assert notice["message"].startswith("lang: No record is in Klingon (tlh) yet")
    form = {"email": "advisor@example.org", "kind": "fair", "lang": "tlh", "frequency": "weekly"}
    html = mail_client.post("/subscriptions", data=form).text
    assert "No record is in Klingon yet" in html


# --------------------------------------------------------------------------- hs: one rule

HS_PATHS = [
    ("/api/v1/search", "hs"),
    ("/api/v1/fairs", "hs"),
    ("/api/v1/fairs.ics", "hs"),
    ("/api/v1/markets/FR", "hs"),
    ("/search", "hs"),
    ("/markets/FR", "hs"),
]


@pytest.mark.parametrize(("path", "name"), HS_PATHS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12345", "hs: '12345' is not an HS code (2, 4 or 6 digits)"),
        ("0999", "hs: 0999 is not a code of the HS nomenclature"),
    ],
)
def test_one_hs_rule_and_message_everywhere(
    client: TestClient, path: str, name: str, value: str, message: str
) -> None:
    resp = client.get(path, params={name: value}, headers={"accept": "text/html"})
    assert resp.status_code == 400
    assert message in unescape(resp.text)


def test_saved_searches_follow_the_same_hs_rule(mail_client: TestClient) -> None:
    body = {"email": "advisor@example.org", "hs": "12345"}
    resp = mail_client.post("/api/v1/subscriptions", json=body)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "hs: '12345' is not an HS code (2, 4 or 6 digits)"


# --------------------------------------------------------------------------- 4. finance


def finance_items(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"].split(":", 1)[1]: i for i in body["finance"]}


@pytest.mark.usefixtures("catalogue")
def test_a_providers_home_is_never_a_market(client: TestClient) -> None:
    afdb = client.get("/api/v1/records/starter_finance:afdb-trade-finance-program").json()
    assert afdb["markets"] == [] and afdb["provider"]["country"] == "CI"
    ifc = client.get("/api/v1/records/starter_finance:ifc-global-trade-finance-program").json()
    assert ifc["markets"] == [] and ifc["provider"]["country"] == "US"
    for home in ("CI", "US", "PH", "GB", "SA"):
        body = client.get("/api/v1/search", params={"kind": "finance", "market": home}).json()
        for item in body["items"]:
            # a finance record found by market is one that helps exporters sell there
            assert item["markets"] == item["destinations"], item["id"]
            assert home in item["destinations"], (home, item["id"])
    every = client.get("/api/v1/search", params={"kind": "finance", "size": 100}).json()
    assert every["total"] == 62
    for item in every["items"]:
        assert item["markets"] == item["destinations"], item["id"]
    html = client.get("/records/starter_finance:afdb-trade-finance-program").text
    assert "based in Côte d&#39;Ivoire" in html or "based in Côte d'Ivoire" in html
    assert "/markets/CI" not in html and "market=CI" not in html


ELIGIBILITY = {
    # (market, hs, origin): {catalogue id: the sentence, en}
    ("FR", "090121", "KE"): {
        "afdb-trade-finance-program": "Open to exporters from all 54 African countries, "
        "including Kenya",
        "ifc-global-trade-finance-program": "Open to exporters from any country",
        "tdb-trade-finance": "Open to exporters from Kenya and 17 other countries",
    },
    ("US", "0801", "VN"): {
        "adb-trade-supply-chain-finance-program": "Open to exporters from Vietnam and 26 "
        "other countries",
    },
    ("DE", "5102", "PE"): {
        "idb-invest-trade-finance-facilitation-program": "Open to exporters from Peru and 25 "
        "other countries",
    },
}


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(("market_code", "hs", "origin"), list(ELIGIBILITY))
def test_finance_says_who_may_apply_first(
    client: TestClient, market_code: str, hs: str, origin: str
) -> None:
    body = market(client, market_code, hs=hs, origin=origin)
    items = finance_items(body)
    for key, sentence in ELIGIBILITY[(market_code, hs, origin)].items():
        assert items[key]["eligibility_summary"] == sentence
        assert items[key]["eligibility"]["origin_eligible"] is True
    html = unescape(client.get(f"/markets/{market_code}", params={"hs": hs, "origin": origin}).text)
    for sentence in ELIGIBILITY[(market_code, hs, origin)].values():
        assert sentence in html
    # said in words, not as a wall of ISO codes
    assert not re.search(r"\b(?:[A-Z]{2}, ){8,}", html)


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "Open to exporters from all 54 African countries, including Kenya"),
        ("fr", "Ouvert aux exportateurs des 54 pays africains, dont : Kenya"),
        ("es", "Abierto a exportadores de los 54 países africanos, entre ellos: Kenia"),
    ],
)
def test_eligibility_in_the_pages_language(client: TestClient, lang: str, sentence: str) -> None:
    html = unescape(client.get("/markets/FR", params={"origin": "KE", "lang": lang}).text)
    assert sentence in html
    results = unescape(
        client.get("/search", params={"kind": "finance", "origin": "KE", "lang": lang}).text
    )
    assert sentence in results


@pytest.mark.usefixtures("catalogue")
def test_a_record_page_says_who_may_apply_and_how(client: TestClient) -> None:
    html = unescape(client.get("/records/starter_finance:afdb-trade-finance-program").text)
    assert "Open to exporters from all 54 African countries" in html
    assert "through a bank in your country that works with the programme" in html
    assert "Kenya" in html and "KE, " not in html  # the countries by name, behind the sentence
    india = unescape(client.get("/records/starter_finance:ecgc-india").text)
    assert "Open to exporters from India" in india


@pytest.mark.usefixtures("catalogue")
def test_partner_banks_of_a_country_are_one_link_away(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    # what the IFC GTFP partner-bank source yields for one bank (crawlers/sources/)
    bank = parse_record(
        {
            "id": "int_ifc_gtfp_partner_banks:ke1",
            "kind": "finance",
            "title": "Example Commercial Bank Ltd: trade finance guarantees with IFC (GTFP), Kenya",
            "source_id": "int_ifc_gtfp_partner_banks",
            "provider": {"name": "Example Commercial Bank Ltd", "type": "commercial_bank"},
            "instruments": ["credit_guarantee", "risk_participation"],
            "eligible_exporter_countries": ["KE"],
            "access_channel": "partner_bank",
        }
    )
    store.upsert_records([bank])
    drain_outbox(store, backend)
    html = client.get("/markets/FR", params={"origin": "KE"}).text
    link = "/search?kind=finance&amp;provider_type=commercial_bank&amp;origin=KE"
    assert f'href="{link}"' in html
    found = client.get(unescape(link), headers={"accept": "text/html"}).text
    assert "Example Commercial Bank Ltd" in found
    assert "Open to exporters from Kenya" in unescape(found)


# --------------------------------------------------------------------------- 5. checklist


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(("code", "hs", "origin"), EXPORTERS)
def test_the_market_page_starts_with_what_to_do_before_shipping(
    client: TestClient, code: str, hs: str, origin: str
) -> None:
    body = market(client, code, hs=hs, origin=origin)
    steps = body["checklist"]["steps"]
    assert steps, "a checklist"
    ids = {i["id"] for i in requirements(body)}
    listed = [rule["id"] for step in steps for rule in step["rules"]]
    assert set(listed) == ids  # every rule once, nothing else
    assert len(listed) == len(ids)
    html = client.get(f"/markets/{code}", params={"hs": hs, "origin": origin}).text
    check = html.index('id="checklist"')
    assert check < html.index("<h2>Requirements")
    section = html[check : html.index("</section>", check)]
    links = re.findall(r'href="/records/([^"]+)"', section)
    assert len(links) >= min(len(ids), 6)
    for step in steps:
        assert f"/records/{step['rules'][0]['id'].replace(':', '%3A')}" in section


@pytest.mark.usefixtures("catalogue")
def test_registrations_come_first_in_the_checklist(client: TestClient) -> None:
    steps = market(client, "DE", hs="5102", origin="PE")["checklist"]["steps"]
    assert steps[0]["action"] == "register"
    assert any("LUCID" in r["title"] for r in steps[0]["rules"])


def test_the_checklist_lists_deadlines_and_dates_of_entry_into_force(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    today = date.today()
    rule = parse_record(
        {
            "id": "t_src:r1",
            "kind": "requirement",
            "title": "Kenya: draft labelling standard for roasted coffee",
            "source_id": "t_src",
            "markets": ["KE"],
            "requirement_type": "labelling",
            "status": "proposed",
            "comment_deadline": (today + timedelta(days=20)).isoformat(),
            "effective_date": (today + timedelta(days=200)).isoformat(),
        }
    )
    past = rule.model_copy(
        update={
            "id": "t_src:r2",
            "title": "Old rule",
            "comment_deadline": today - timedelta(days=3),
            "effective_date": today - timedelta(days=300),
        }
    )
    store.upsert_records([rule, past])
    drain_outbox(store, backend)
    dates = market(client, "KE")["checklist"]["dates"]
    assert [(d["id"], d["what"]) for d in dates] == [
        ("t_src:r1", "comments"),
        ("t_src:r1", "applies"),
    ]
    html = unescape(client.get("/markets/KE").text)
    section = html[html.index('id="checklist"') :]
    assert "Comments close on" in section and "Applies from" in section


@pytest.mark.usefixtures("catalogue")
def test_the_plain_language_summary_comes_before_the_legal_reference(client: TestClient) -> None:
    body = market(client, "DE", hs="5102", origin="PE")
    lucid = next(i for i in requirements(body) if "LUCID" in i["title"])
    html = unescape(client.get("/markets/DE", params={"hs": "5102", "origin": "PE"}).text)
    item = html[html.index(f"{lucid['title']}</a>") :]
    assert item.index(lucid["summary"][:40]) < item.index(lucid["legal_reference"][:40])


# --------------------------------------------------------------------------- 6. undated fairs


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(("code", "hs", "origin"), EXPORTERS)
def test_series_without_dates_are_recurring_fairs(
    client: TestClient, code: str, hs: str, origin: str
) -> None:
    body = market(client, code, hs=hs, origin=origin)
    undated = [f for f in body["fairs"] if not f.get("start_date")]
    assert undated
    html = unescape(client.get(f"/markets/{code}", params={"hs": hs, "origin": origin}).text)
    recurring = html[html.index("<h2>Recurring fairs") :]
    upcoming = html[html.index('<h2 id="fairs">') : html.index("<h2>Recurring fairs")]
    assert f"<h2>Recurring fairs ({len(undated)})</h2>" in html
    listed = re.findall(r'class="t" href="/records/([^"]+)"', recurring[: recurring.index("</ol>")])
    assert min(5, len(undated)) <= len(listed) <= 15
    by_id = {f["id"].replace(":", "%3A"): f for f in body["fairs"]}
    assert all(not by_id[i].get("start_date") for i in listed)
    for series in undated:
        assert f"{series['title']}</a>" not in upcoming
    assert "Scheduled" not in html
    assert "usually in" in recurring
    # the first fair the page shows fits the product
    first = re.search(
        r'<li class="item">\s*<a class="t" href="/records/([^"]+)"',
        html[html.index('<h2 id="fairs">') :],
    )
    assert first
    shown = next(f for f in body["fairs"] if f["id"].replace(":", "%3A") == first.group(1))
    assert shown["matched_product"]["fit"] in ("product", "related"), shown["title"]


@pytest.mark.usefixtures("catalogue")
def test_an_undated_fairs_page_does_not_call_it_scheduled(client: TestClient) -> None:
    html = unescape(client.get("/records/starter_fairs:heimtextil").text)
    assert "Scheduled" not in html
    assert "Recurring fair: next dates not known yet" in html
    assert "in January" in html


@pytest.mark.usefixtures("catalogue")
def test_calendars_keep_out_undated_fairs(client: TestClient, settings: Settings) -> None:
    ics = client.get("/api/v1/fairs.ics", params={"market": "DE"}).text
    dated = client.get("/api/v1/search", params={"kind": "fair", "market": "DE", "size": 100})
    titles = {i["title"]: i.get("start_date") for i in dated.json()["items"]}
    assert any(v is None for v in titles.values())
    for title, start in titles.items():
        assert (f"SUMMARY:{title}" in ics) == (start is not None and start >= str(date.today()))
    undated = parse_record(load("fairs")[0].model_dump(mode="json") | {"usual_month": 6})
    assert undated.start_date is None  # type: ignore[union-attr]
    atom = build_atom(
        [undated],
        settings,
        title="t",
        feed_id="urn:t",
        self_url="https://t.example/a",
        alternate_url="https://t.example/",
        updated=None,
    ).decode()
    assert "usually in June" in atom


def test_the_home_page_shows_real_fairs_before_the_demos(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    soon = date.today() + timedelta(days=3)
    demo = [
        fair(
            id=f"demo_src:{n}",
            title=f"Fictional Fair {n}",
            source_id="demo_src",
            url=f"https://fair{n}.example.invalid/",
            start_date=soon.isoformat(),
            end_date=soon.isoformat(),
        )
        for n in range(10)
    ]
    later = date.today() + timedelta(days=90)
    real = fair(
        id="t_src:real",
        title="Real Coffee Week",
        url="https://coffee-week.example.org/",
        start_date=later.isoformat(),
        end_date=later.isoformat(),
    )
    store.upsert_records([*demo, real])
    drain_outbox(store, backend)
    html = client.get("/").text
    upcoming = html[html.index("<h2>Upcoming fairs") :]
    assert "Real Coffee Week" in upcoming
    assert upcoming.count('class="item"') == 8


# ------------------------------------------------------------------- 8. one fair, two sources


def test_the_same_fair_from_two_sources_shows_once_with_both_provenances(
    client: TestClient, store: Store, backend: SearchBackend, settings: Settings
) -> None:
    a = fair(
        id="fairs_a:heim",
        title="Heimtextil 2027",
        source_id="fairs_a",
        source_url="https://calendar-a.example.org/heimtextil",
        country="DE",
        city="Frankfurt am Main",
        start_date="2027-01-12",
        end_date="2027-01-15",
        sectors=["textiles"],
    )
    b = a.model_copy(
        update={
            "id": "fairs_b:heim",
            "title": "HEIMTEXTIL",
            "source_id": "fairs_b",
            "source_url": "https://calendar-b.example.org/events/9",
            "city": "Frankfurt Am Main",
        }
    )
    other_dates = a.model_copy(
        update={"id": "fairs_b:heim26", "source_id": "fairs_b", "title": "Heimtextil",
                "start_date": date(2026, 1, 13), "end_date": date(2026, 1, 16)}
    )  # fmt: skip
    store.upsert_records([a, b, other_dates])
    drain_outbox(store, backend)

    body = client.get("/api/v1/search", params={"q": "heimtextil", "date_from": "2027-01-01"})
    items = body.json()["items"]
    assert len(items) == 1
    assert [s["id"] for s in items[0]["sources"]] == [
        items[0]["id"],
        *({"fairs_a:heim", "fairs_b:heim"} - {items[0]["id"]}),
    ]
    every = client.get("/api/v1/search", params={"q": "heimtextil"}).json()["items"]
    assert len(every) == 2  # another year's edition is another fair

    overview = market(client, "DE")
    assert sum(1 for f in overview["fairs"] if "heim" in f["id"] and "26" not in f["id"]) == 1
    html = client.get("/markets/DE").text
    assert html.count(">Heimtextil 2027</a>") + html.count(">HEIMTEXTIL</a>") == 1
    assert "also listed by" in html

    page = unescape(client.get("/records/fairs_a:heim").text)
    assert "Also listed by" in page and 'href="/records/fairs_b%3Aheim"' in page
    assert "calendar-b.example.org" in page  # the other source's provenance, by its page

    ics = client.get("/api/v1/fairs.ics", params={"q": "heimtextil"}).text
    assert ics.count("BEGIN:VEVENT") == 1
    assert store.get_record("fairs_a:heim") and store.get_record("fairs_b:heim")  # both kept


def test_one_source_listing_two_alike_fairs_keeps_both(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    one = fair(id="t_src:hall1", title="Coffee Expo", url="https://a.example.org/1")
    two = fair(id="t_src:hall2", title="Coffee Expo", url="https://a.example.org/2")
    store.upsert_records([one, two])
    drain_outbox(store, backend)
    items = client.get("/api/v1/search", params={"q": "coffee expo"}).json()["items"]
    assert {i["id"] for i in items} == {"t_src:hall1", "t_src:hall2"}
    assert all("sources" not in i for i in items)
