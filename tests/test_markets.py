"""Markets: names in three languages, blocs, and bloc expansion through the search API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from crawlers.normalise.countries import to_country
from search_api.domain import markets as mk
from search_api.domain.records import parse_record
from search_api.domain.vocab import BLOCS
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("Deutschland", "DE"),
        ("  allemagne ", "DE"),
        ("Espagne", "ES"),
        ("España", "ES"),
        ("espana", "ES"),
        ("Côte d'Ivoire", "CI"),
        ("COTE D IVOIRE", "CI"),
        ("Costa de Marfil", "CI"),
        ("Royaume-Uni", "GB"),
        ("UK", "GB"),
        ("États-Unis", "US"),
        ("Estados Unidos", "US"),
        ("Kenia", "KE"),
        ("Émirats arabes unis", "AE"),
        ("EU", "EU"),
        ("eu", "EU"),
        ("Union européenne", "EU"),
        ("Unión Europea", "EU"),
        ("European Union", "EU"),
        ("Mercosur", "MERCOSUR"),
        ("Communauté d'Afrique de l'Est", "EAC"),
        # a bloc code wins over an alpha-3 code; Canada is reached by name or alpha-2
        ("CAN", "CAN"),
        ("Canada", "CA"),
        ("Kosovo", "XK"),
    ],
)
def test_resolve_market(text: str, code: str) -> None:
    assert mk.resolve_market(text) == code


@pytest.mark.parametrize("text", ["", "   ", "XX", "Atlantis", "EUR0", "<script>", "x" * 500, None])
def test_resolve_market_unknown(text: str | None) -> None:
    assert mk.resolve_market(text) is None


def test_blocs_required_by_the_issue_exist_with_known_members() -> None:
    required = {"EU", "EFTA", "GCC", "EAEU", "ASEAN", "EAC", "ECOWAS", "SADC", "SACU"}
    required |= {"COMESA", "MERCOSUR", "CAN", "USMCA"}
    assert required <= set(BLOCS)
    for bloc in required:
        assert mk.members(bloc), bloc
        assert all(mk.is_country(c) for c in mk.members(bloc)), bloc
        assert set(mk.market_names(bloc)) == {"en", "fr", "es"}
    assert len(mk.members("EU")) == 27


def test_expansion_both_ways() -> None:
    assert mk.expand_for_search("FR") == {"FR", "EU"}
    assert mk.expand_for_search("KE") == {"KE", "EAC", "COMESA"}
    assert mk.expand_for_search("EU") == {"EU", *BLOCS["EU"]}
    assert mk.expand_for_search("JP") == {"JP"}
    assert set(mk.blocs_of("ZA")) == {"SADC", "SACU"}
    assert mk.members("FR") == ()
    assert mk.blocs_of("EU") == ()


def test_match_reason() -> None:
    assert mk.match_reason(["EU"], ["FR"]) == {"market": "FR", "code": "EU", "via": "bloc"}
    assert mk.match_reason(["FR"], ["EU"]) == {"market": "EU", "code": "FR", "via": "member"}
    assert mk.match_reason(["DE", "EU"], ["EU"])["via"] == "direct"
    assert mk.match_reason(["US"], ["FR"]) is None


def test_names_in_three_languages() -> None:
    assert mk.market_names("DE") == {"en": "Germany", "fr": "Allemagne", "es": "Alemania"}
    assert mk.market_name("EU", "fr") == "Union européenne"
    assert mk.market_name("KE", "xx") == "Kenya"


def test_crawler_country_names_use_the_same_table() -> None:
    # the crawler reads countries with search_api.domain.markets, never a bloc
    assert to_country("Alemania") == "DE"
    assert to_country("Messe Frankfurt, Frankfurt am Main, Allemagne") == "DE"
    assert to_country("European Union") is None
    assert mk.country_from_name("Union européenne") is None


# --------------------------------------------------------------------------- through the API


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    raw = [
        {"id": "t:eu", "kind": "requirement", "title": "EU rule", "markets": ["EU"]},
        {"id": "t:fr", "kind": "requirement", "title": "French rule", "markets": ["FR"]},
        {"id": "t:de", "kind": "requirement", "title": "German rule", "markets": ["DE"]},
        {"id": "t:us", "kind": "requirement", "title": "US rule", "markets": ["US"]},
        {"id": "t:gcc", "kind": "requirement", "title": "Gulf rule", "markets": ["GCC"]},
    ]
    store.upsert_records([parse_record({**r, "source_id": "t"}) for r in raw])
    drain_outbox(store, backend)


def _search(client: TestClient, **params: str) -> dict[str, dict | None]:
    resp = client.get("/api/v1/search", params={"size": 100, **params})
    assert resp.status_code == 200, resp.text
    return {item["title"]: item.get("matched_market") for item in resp.json()["items"]}


@pytest.mark.usefixtures("loaded")
def test_country_finds_bloc_rules_and_says_so(client: TestClient) -> None:
    got = _search(client, market="FR")
    assert got == {
        "EU rule": {"market": "FR", "code": "EU", "via": "bloc"},
        "French rule": {"market": "FR", "code": "FR", "via": "direct"},
    }
    # a name in French or Spanish is the same filter
    assert _search(client, market="Allemagne").keys() == {"EU rule", "German rule"}
    assert _search(client, market="Alemania").keys() == {"EU rule", "German rule"}
    assert _search(client, market="Arabie saoudite").keys() == {"Gulf rule"}


@pytest.mark.usefixtures("loaded")
def test_bloc_finds_member_rules_and_says_so(client: TestClient) -> None:
    got = _search(client, market="EU")
    assert got == {
        "EU rule": {"market": "EU", "code": "EU", "via": "direct"},
        "French rule": {"market": "EU", "code": "FR", "via": "member"},
        "German rule": {"market": "EU", "code": "DE", "via": "member"},
    }
    # no market filter: nothing to explain
    assert set(_search(client).values()) == {None}


@pytest.mark.usefixtures("loaded")
def test_unknown_market_is_a_400_naming_the_parameter(client: TestClient) -> None:
    resp = client.get("/api/v1/search", params={"market": "Atlantis"})
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("market:")
