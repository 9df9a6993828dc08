"""Finance eligibility in words (domain/eligibility.py) and the rule that a finance record's
markets are its destinations, never its provider's home (domain/records.py)."""

from __future__ import annotations

import pytest

from search_api.domain import eligibility
from search_api.domain.languages import UI_LANGUAGES
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


def test_a_single_bloc_with_a_provider_is_a_destination_not_a_home() -> None:
    r = finance(provider={"name": "A bank"}, markets=["EU"])
    assert r.provider and r.provider.country is None
    assert r.destinations == ["EU"]


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
        (["EAC"], None, "en", "Open to exporters from all 8 members of the East African Community"),
        (["EAC"], None, "fr",
         "Ouvert aux exportateurs des 8 membres de la Communauté d'Afrique de l'Est"),
        (list(BLOCS["ECOWAS"]), "GH", "es",
         "Abierto a exportadores de los 12 miembros de la CEDEAO, entre ellos: Ghana"),
        (["MERCOSUR"], "PE", "fr", "Non ouvert aux exportateurs de : Pérou"),
        (["MERCOSUR"], None, "fr", "Ouvert aux exportateurs des 5 membres du Mercosur"),
        (["MERCOSUR"], "UY", "es",
         "Abierto a exportadores de los 5 miembros del Mercosur, entre ellos: Uruguay"),
        (["EU"], None, "es", "Abierto a exportadores de los 27 miembros de la Unión Europea"),
        (["COMESA"], "KE", "en",
         "Open to exporters from all 21 members of COMESA, including Kenya"),
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


GROUPS_IN_WORDS = sorted({*BLOCS, *COUNTRY_GROUPS} - {"AFRICA"})
"""Every group a summary may name by its members ("AFRICA" has sentences of its own)."""


@pytest.mark.parametrize("group", GROUPS_IN_WORDS)
def test_every_group_has_its_phrase_in_every_language(group: str) -> None:
    """data/group_phrases.yml names each bloc and group in each language of the site, with
    the preposition each language needs before it (contracted where the language does)."""
    forms = eligibility.group_phrases().get(group)
    assert forms is not None, f"{group} missing from data/group_phrases.yml"
    assert set(forms) == set(UI_LANGUAGES), group
    assert forms["en"].startswith("of "), forms
    assert forms["fr"].startswith(("de la ", "de l'", "du ", "des ")), forms
    assert forms["es"].startswith(("de la ", "del ", "de los ", "de las ")), forms
    members = list(BLOCS.get(group) or COUNTRY_GROUPS[group])
    for lang, phrase in forms.items():
        sentence = eligibility.summary(lang, eligibility.describe(members, None))
        assert sentence.endswith(phrase), (lang, sentence)
        assert " de de " not in sentence and " of of " not in sentence


def test_the_phrases_name_only_known_groups() -> None:
    assert set(eligibility.group_phrases()) <= {*BLOCS, *COUNTRY_GROUPS}


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
