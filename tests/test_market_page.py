"""The market endpoint and page: a Kenyan roasted-coffee exporter looks at France."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from search_api.web.pages import FAIRS_SHOWN, PAGE_LIMIT, PAGE_REQUIREMENTS

TODAY = date.today()
NEXT_MONTH = TODAY + timedelta(days=30)
HOSTILE = "<script>alert('x')</script>"


def _req(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": f"t_req:{id}", "kind": "requirement", "title": title, "source_id": "t_req", **kw}


def _fair(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": f"t_fair:{id}", "kind": "fair", "title": title, "source_id": "t_fair", **kw}


def _fin(id: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"id": f"t_fin:{id}", "kind": "finance", "title": title, "source_id": "t_fin", **kw}


RAW = [
    _req(
        "eu-fic",
        "EU food information to consumers",
        markets=["EU"],
        hs_codes=["09", "21"],
        requirement_type="labelling",
        authority="European Commission",
        legal_reference="Regulation (EU) No 1169/2011",
        url="https://eur-lex.europa.eu/eli/reg/2011/1169/oj",
        as_of="2026-11-01",
        status="in_force",
    ),
    _req(
        "eu-packaging",
        "EU packaging and packaging waste",
        markets=["EU"],
        requirement_type="packaging",
        as_of="2026-11-01",
    ),
    _req(
        "fr-marking",
        "French origin marking",
        markets=["FR"],
        hs_codes=["090121"],
        requirement_type="marking",
    ),
    _req(
        "fr-textiles",
        "French textile labelling",
        markets=["FR"],
        hs_codes=["61"],
        requirement_type="labelling",
    ),
    _req(
        "de-coffee-tax",
        "German coffee tax",
        markets=["DE"],
        hs_codes=["0901"],
        requirement_type="documentation",
    ),
    _req(
        "us-coffee",
        "US food labelling",
        markets=["US"],
        hs_codes=["09"],
        requirement_type="labelling",
    ),
    _req(
        "eu-old",
        "Repealed EU rule",
        markets=["EU"],
        hs_codes=["09"],
        status="repealed",
        requirement_type="labelling",
    ),
    _req(
        "eu-cn",
        "EU rule for goods from China",
        markets=["EU"],
        hs_codes=["09"],
        origins=["CN"],
        requirement_type="sps",
    ),
    _fair(
        "sial",
        "SIAL Paris",
        country="FR",
        city="Paris",
        usual_month=10,
        frequency="biennial",
        url="https://www.sialparis.com/",
        as_of="2026-11-22",
    ),
    _fair(
        "dated",
        "Paris Coffee Show",
        country="FR",
        city="Paris",
        start_date=NEXT_MONTH.isoformat(),
        end_date=NEXT_MONTH.isoformat(),
    ),
    _fair("past", "Past Paris fair", country="FR", start_date="2020-01-01", end_date="2020-01-03"),
    _fair("anuga", "Anuga", country="DE", city="Köln", usual_month=10),
    _fair(
        "pan-eu",
        "Pan-European online fair " + HOSTILE,
        country="BE",
        markets=["EU"],
        usual_month=3,
        online=True,
    ),
    _fin(
        "gtfp",
        "Global trade finance programme",
        instruments=["risk_participation"],
        sme_focus=True,
        provider={"name": "IFC", "type": "dfi"},
    ),
    _fin(
        "ke",
        "Kenyan export credit insurance",
        eligible_exporter_countries=["KE"],
        instruments=["credit_insurance"],
        provider={"name": "Kenyan ECA", "type": "eca"},
        as_of="2026-11-20",
    ),
    _fin("eac", "EAC guarantee", eligible_exporter_countries=["EAC"]),
    _fin("gh", "Ghanaian exporters only", eligible_exporter_countries=["GH"]),
    _fin(
        "ke-us-only",
        "Kenyan cover for US buyers",
        eligible_exporter_countries=["KE"],
        destinations=["US"],
    ),
]


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    store.upsert_records([parse_record(dict(r)) for r in RAW])
    drain_outbox(store, backend)


def market(client: TestClient, code: str, **params: str) -> dict[str, Any]:
    resp = client.get(f"/api/v1/markets/{code}", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def grouped_titles(body: dict[str, Any]) -> dict[str, set[str]]:
    return {t: {i["title"] for i in items} for t, items in body["requirements"].items()}


@pytest.mark.usefixtures("loaded")
def test_kenyan_roasted_coffee_to_france(client: TestClient) -> None:
    body = market(client, "FR", hs="090121", origin="KE")
    assert body["market"]["code"] == "FR"
    assert body["market"]["names"] == {"en": "France", "fr": "France", "es": "Francia"}
    assert [b["code"] for b in body["market"]["blocs"]] == ["EU"]
    assert body["hs"]["description"] == "Coffee; roasted, not decaffeinated"
    assert body["origin"] == {"code": "KE", "name": "Kenya"}
    # EU-wide labelling rules are found through FR and the coffee code; textiles are not;
    # a rule without HS codes applies to every product, coffee included, and says so
    assert grouped_titles(body) == {
        "labelling": {"EU food information to consumers"},
        "marking": {"French origin marking"},
        "packaging": {"EU packaging and packaging waste"},
    }
    fic = body["requirements"]["labelling"][0]
    assert fic["matched_market"]["via"] == "bloc" and fic["matched_market"]["code"] == "EU"
    assert fic["matched_product"] == {
        "hs": "090121",
        "via": "code",
        "codes": ["09"],
        "fit": "product",
        "text": "Matches your product: HS 09",
    }
    packaging = body["requirements"]["packaging"][0]
    assert packaging["matched_product"] == {
        "hs": "090121",
        "via": "all_products",
        "text": "Applies to all products (no HS code)",
    }
    assert body["requirement_count"] == 3
    # upcoming fairs in France: dated ones first, then recurring ones by their next usual
    # month; the pan-EU fair counts too; past fairs do not
    assert body["fairs"][0]["title"] == "Paris Coffee Show"
    assert {f["title"] for f in body["fairs"]} == {
        "Paris Coffee Show",
        "SIAL Paris",
        "Pan-European online fair " + HOSTILE,
    }
    # finance open to Kenyan exporters (directly, via the EAC, or open to all), not US-only
    assert [f["title"] for f in body["finance"]] == [
        "Global trade finance programme",
        "EAC guarantee",
        "Kenyan export credit insurance",
    ]


@pytest.mark.usefixtures("loaded")
def test_without_product_or_origin(client: TestClient) -> None:
    body = market(client, "France")
    assert grouped_titles(body) == {
        "labelling": {"EU food information to consumers", "French textile labelling"},
        "packaging": {"EU packaging and packaging waste"},
        "marking": {"French origin marking"},
        "sps": {"EU rule for goods from China"},
    }
    assert body["hs"] is None and body["origin"] is None
    assert "Ghanaian exporters only" in {f["title"] for f in body["finance"]}
    assert "Kenyan cover for US buyers" not in {f["title"] for f in body["finance"]}


@pytest.mark.usefixtures("loaded")
def test_bloc_market_shows_member_rules_and_fairs(client: TestClient) -> None:
    body = market(client, "EU", hs="0901")
    assert body["market"]["is_bloc"] and len(body["market"]["members"]) == 27
    titles = {
        i["title"]: i["matched_market"]["via"] for v in body["requirements"].values() for i in v
    }
    assert titles == {
        "EU food information to consumers": "direct",
        "French origin marking": "member",
        "German coffee tax": "member",
        "EU rule for goods from China": "direct",
        "EU packaging and packaging waste": "direct",
    }
    assert {"Anuga", "SIAL Paris"} <= {f["title"] for f in body["fairs"]}
    # the same market in Spanish
    assert market(client, "Unión Europea")["market"]["code"] == "EU"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/markets/Atlantis", 404, "market"),
        ("/api/v1/markets/FR?hs=coffee", 400, "hs"),
        ("/api/v1/markets/FR?hs=0999", 400, "hs"),
        ("/api/v1/markets/FR?hs=123", 400, "hs"),
        ("/api/v1/markets/FR?origin=Atlantis", 400, "origin"),
        ("/api/v1/markets/FR?origin=EU", 400, "origin"),
    ],
)
def test_bad_input(client: TestClient, path: str, status: int, field: str) -> None:
    resp = client.get(path)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["message"].startswith(field)


# --------------------------------------------------------------------------- the web page


@pytest.mark.usefixtures("loaded")
def test_page_shows_the_same_with_sources_and_dates(client: TestClient) -> None:
    resp = client.get("/markets/FR", params={"hs": "090121", "origin": "Kenya"})
    assert resp.status_code == 200
    html = resp.text
    assert "Export to France" in html
    assert "EU food information to consumers" in html
    assert "French textile labelling" not in html
    assert "SIAL Paris" in html and "Past Paris fair" not in html
    assert "Kenyan export credit insurance" in html
    assert "Ghanaian exporters only" not in html
    # each record names its source and its as-of or last-seen date
    assert "as of 1 Nov 2026, check the official source" in html
    assert "last seen" in html
    assert 'href="https://eur-lex.europa.eu/eli/reg/2011/1169/oj"' in html
    # hostile text is escaped, never markup
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "<script" not in html
    # printable, small, and no JavaScript needed
    assert len(resp.content) < 30_000
    assert resp.headers.get("cache-control")


@pytest.mark.usefixtures("loaded")
def test_product_words_suggest_hs_links(client: TestClient) -> None:
    html = client.get("/markets/FR", params={"product": "roasted coffee", "origin": "KE"}).text
    first = html.index('href="/markets/FR?hs=090121&amp;origin=KE"')
    assert first < html.index('href="/markets/FR?hs=0901&amp;origin=KE"')
    assert "Coffee; roasted, not decaffeinated" in html
    # an HS code typed as the product is used directly
    html = client.get("/markets/FR", params={"product": "0901.21"}).text
    assert "Requirements for HS 090121" in html
    assert "French textile labelling" not in html
    html = client.get("/markets/FR", params={"product": "zzqq"}).text
    assert "No HS code found" in html


@pytest.mark.usefixtures("loaded")
def test_page_is_gzipped_and_errors_are_pages(client: TestClient) -> None:
    resp = client.get("/markets/EU", headers={"Accept-Encoding": "gzip"})
    assert resp.headers.get("content-encoding") == "gzip"
    resp = client.get("/markets/Atlantis", headers={"Accept": "text/html"})
    assert resp.status_code == 404
    assert "unknown market" in resp.text and resp.headers["content-type"].startswith("text/html")


@pytest.mark.usefixtures("loaded")
def test_record_page_and_facets_link_to_market_pages(client: TestClient) -> None:
    html = client.get("/records/t_req:eu-fic").text
    assert 'href="/markets/EU"' in html
    html = client.get("/search", params={"kind": "requirement"}).text
    assert 'href="/markets/FR"' in html


def test_a_busy_market_page_stays_small(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    # 20 of each kind, with long texts: the page caps fairs and finance and shortens summaries
    words = "Importers must show the name, ingredients, net quantity and origin on the label. " * 4
    raw: list[dict[str, Any]] = []
    for n in range(20):
        raw.append(
            _req(
                f"jp{n}",
                f"Japanese labelling rule number {n} for processed foods and drinks",
                markets=["JP"],
                summary=words,
                requirement_type="labelling",
                authority="Consumer Affairs Agency",
                legal_reference=f"Food Labelling Act art. {n}",
                url=f"https://www.caa.go.jp/rules/{n}",
                hs_codes=["09", "21", "22"],
            )
        )
        raw.append(
            _fair(
                f"jp{n}",
                f"Tokyo trade fair {n}",
                country="JP",
                city="Tokyo",
                usual_month=n % 12 + 1,
                summary=words,
                url=f"https://fair{n}.example.jp/",
            )
        )
        raw.append(
            _fin(
                f"fin{n}",
                f"Export credit programme {n}",
                summary=words,
                provider={"name": f"Agency {n}", "type": "eca"},
                instruments=["credit_insurance", "pre_shipment_loan"],
                url=f"https://finance{n}.example.org/",
            )
        )
    store.upsert_records([parse_record(r) for r in raw])
    drain_outbox(store, backend)
    resp = client.get("/markets/JP", headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200
    # as many rules, fairs and programmes as the page lists, no more
    assert resp.text.count('class="item"') == PAGE_REQUIREMENTS + FAIRS_SHOWN + PAGE_LIMIT
    assert len(resp.content) < 30_000
    assert "All 20 fairs" in resp.text and "All 20 programmes" in resp.text


def test_home_market_form_resolves_names_to_the_market_page(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get(
        "/markets",
        params={"market": "Allemagne", "product": "roasted coffee", "origin": "Kenya"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/markets/DE?product=roasted+coffee&origin=Kenya"
    r = client.get("/markets", params={"market": "Narnia"}, headers={"accept": "text/html"})
    assert r.status_code == 400 and "unknown market" in r.text


def test_a_market_with_hundreds_of_records_lists_the_soonest_and_counts_them_all(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    # 600 past fairs sort before the upcoming ones: they must not hide them
    raw: list[dict[str, Any]] = [
        _fair(
            f"past{n}",
            f"Past fair {n}",
            country="KE",
            start_date=(TODAY - timedelta(days=400 - n % 300)).isoformat(),
        )
        for n in range(600)
    ]
    raw += [
        _fair(
            f"soon{n}",
            f"Coming fair {n}",
            country="KE",
            start_date=(TODAY + timedelta(days=n + 1)).isoformat(),
        )
        for n in range(60)
    ]
    raw.append(_fair("recurring", "Recurring fair", country="KE", usual_month=TODAY.month))
    raw += [
        _req(
            f"ke{n}",
            f"Kenyan rule {n}",
            markets=["KE"],
            requirement_type=("labelling", "sps")[n % 2],
            status="repealed" if n % 10 == 0 else "in_force",
        )
        for n in range(130)
    ]
    store.upsert_records([parse_record(r) for r in raw])
    drain_outbox(store, backend)
    body = client.get("/api/v1/markets/KE").json()
    assert body["fair_count"] == 61  # every upcoming one, the recurring one included
    assert [f["title"] for f in body["fairs"][:3]] == [
        "Coming fair 0",
        "Coming fair 1",
        "Coming fair 2",
    ]
    assert len(body["fairs"]) == 50
    assert body["requirement_count"] == 117  # the repealed ones left out
    listed = [r for items in body["requirements"].values() for r in items]
    assert len(listed) <= 100 and all(r["status"] != "repealed" for r in listed)
    page = client.get("/markets/KE", headers={"Accept-Encoding": "identity"})
    assert "Coming fair 0" in page.text and "Past fair" not in page.text
    assert "All 117 requirements" in page.text and "All 61 fairs" in page.text
    # the two types of rule share the page's rules equally; the fairs fill their sections
    assert page.text.count('class="item"') == 2 * (PAGE_REQUIREMENTS // 2) + FAIRS_SHOWN + 0
    assert len(page.content) < 30_000


def test_sme_programmes_come_first_and_every_programme_open_to_the_market_counts(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    raw = [
        _fin(f"sme{n:02d}", f"SME programme {n:02d}", sme_focus=True, as_of="2026-11-01")
        for n in range(60)
    ]
    raw += [_fin(f"big{n:02d}", f"Programme {n:02d}", as_of="2026-11-01") for n in range(25)]
    raw.append(_fin("elsewhere", "A programme for Peru only", destinations=["PE"]))
    store.upsert_records([parse_record(r) for r in raw])
    drain_outbox(store, backend)
    body = client.get("/api/v1/markets/KE?origin=UG").json()
    listed = body["finance"]
    assert len(listed) == 50 and all(f["sme_focus"] for f in listed)
    assert [f["title"] for f in listed] == sorted(f["title"] for f in listed)
    # Every programme open to the market counts, shown or not; the one for Peru only does not.
    assert body["finance_count"] == 85

    # Fewer SME programmes than the list holds: the others follow them.
    store.upsert_records([parse_record({**r, "sme_focus": False}) for r in raw[5:60]])
    drain_outbox(store, backend)
    body = client.get("/api/v1/markets/KE?origin=UG").json()
    titles = [f["title"] for f in body["finance"]]
    assert titles[:5] == [f"SME programme {n:02d}" for n in range(5)]
    assert len(titles) == 50 and "A programme for Peru only" not in titles
    assert body["finance_count"] == 85
