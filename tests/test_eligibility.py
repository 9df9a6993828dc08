"""Finance eligibility in words (domain/eligibility.py) and the rule that a finance record's
markets are its destinations, never its provider's home (domain/records.py)."""

from __future__ import annotations

import pytest

from search_api.domain import eligibility
from search_api.domain.records import FinanceRecord, parse_record
from search_api.domain.vocab import BLOCS, COUNTRY_GROUPS, is_market_code


def finance(**kw: object) -> FinanceRecord:
    data = {"id": "t_src:f", "kind": "finance", "title": "Programme", "source_id": "t_src"}
    record = parse_record({**data, **kw})
    assert isinstance(record, FinanceRecord)
    return record


# --------------------------------------------------------------------------- the model


def test_a_single_market_with_a_provider_is_the_providers_home() -> None:
    r = finance(provider={"name": "AfDB"}, markets=["ci"], eligible_exporter_countries=["KE"])
    assert r.markets == [] and r.provider and r.provider.country == "CI"


def test_markets_are_the_destinations() -> None:
    r = finance(destinations=["FR", "DE"])
    assert r.markets == ["FR", "DE"]
    again = parse_record(r.model_dump(mode="json"))
    assert again.markets == ["FR", "DE"] and again.provider is None


def test_markets_that_name_the_eligible_countries_add_nothing() -> None:
    r = finance(provider={"name": "Ghana EXIM"}, markets=["GH"], eligible_exporter_countries=["GH"])
    assert r.markets == [] and r.provider and r.provider.country is None


def test_several_markets_without_destinations_are_destinations() -> None:
    r = finance(markets=["KE", "UG"], provider={"name": "ATI"})
    assert r.destinations == ["KE", "UG"] and r.markets == ["KE", "UG"]


def test_a_provider_country_must_be_a_country() -> None:
    with pytest.raises(ValueError, match="unknown country code 'EU'"):
        finance(provider={"name": "X", "country": "EU"})
    with pytest.raises(ValueError, match="unknown country code 'zz'"):
        finance(provider={"name": "X", "country": "zz"})


def test_an_unset_provider_country_leaves_the_fingerprint_alone() -> None:
    # records stored before provider.country existed must not all look changed
    r = finance(provider={"name": "X", "type": "eca"})
    dumped = r.model_dump(mode="json")
    dumped["provider"].pop("country")
    assert r.content_fingerprint() == parse_record(dumped).content_fingerprint()
    assert finance(
        provider={"name": "X", "type": "eca", "country": "KE"}
    ).content_fingerprint() != (r.content_fingerprint())


# --------------------------------------------------------------------------- in words


def test_groups_are_no_market_codes() -> None:
    assert len(COUNTRY_GROUPS["AFRICAN_UNION"]) == 55
    assert len(COUNTRY_GROUPS["AFRICA"]) == 54
    assert "AFRICA" not in BLOCS and not is_market_code("AFRICAN_UNION")


@pytest.mark.parametrize(
    ("codes", "origin", "lang", "sentence"),
    [
        ([], None, "en", "Open to exporters from any country"),
        ([], "KE", "fr", "Ouvert aux exportateurs de tout pays"),
        (["KE"], "KE", "en", "Open to exporters from Kenya"),
        (["KE", "UG"], "UG", "en", "Open to exporters from Uganda and Kenya"),
        (["KE", "UG", "RW"], None, "fr", "Ouvert aux exportateurs de : Kenya, Ouganda et Rwanda"),
        (["EAC"], None, "en", "Open to exporters from all 8 members of East African Community"),
        (list(BLOCS["ECOWAS"]), "GH", "es", "Abierto a exportadores de los 12 miembros de "
         "Comunidad Económica de Estados de África Occidental, entre ellos: Ghana"),
        (list(COUNTRY_GROUPS["AFRICA"]), "KE", "en",
         "Open to exporters from all 54 African countries, including Kenya"),
        (list(COUNTRY_GROUPS["AFRICAN_UNION"]), "KE", "en",
         "Open to exporters from all 55 members of the African Union, including Kenya"),
        (list(COUNTRY_GROUPS["AFRICAN_UNION"]), None, "fr",
         "Ouvert aux exportateurs des 55 membres de l'Union africaine"),
        (["VN", "TH", "LA", "KH", "MM"], "VN", "en",
         "Open to exporters from Vietnam and 4 other countries"),
        (["VN", "TH", "LA", "KH", "MM"], None, "es", "Abierto a exportadores de 5 países"),
        (["IN"], "KE", "en", "Not open to exporters from Kenya"),
    ],
)  # fmt: skip
def test_summary(codes: list[str], origin: str | None, lang: str, sentence: str) -> None:
    assert eligibility.summary(lang, eligibility.describe(codes, origin)) == sentence


def test_describe_for_the_api() -> None:
    info = eligibility.describe(["EAC", "ET"], "KE")
    assert info == {
        "any": False,
        "count": 9,
        "group": None,
        "origin": "KE",
        "origin_eligible": True,
        "named": [],
    }
    item = {"kind": "finance", "eligible_exporter_countries": ["KE"]}
    eligibility.annotate(item, None, "es")
    assert item["eligibility_summary"] == "Abierto a exportadores de: Kenia"
    fair = {"kind": "fair"}
    eligibility.annotate(fair, "KE")
    assert fair == {"kind": "fair"}
