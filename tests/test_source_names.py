"""Issue 16: a source's name in the page's language. `names: {fr, es}` beside `name` (a
compatible extension of the source format, validated like the other fields), filled for every
built-in and catalogue source, and shown on record, results, market and agency pages in French
and Spanish."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from crawlers.demo import catalogue_sources
from crawlers.sources import builtin_sources
from search_api.domain.source_form import form_fields, form_values, source_from_form
from search_api.domain.sources import parse_source
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in
from tests.helpers.factories import fair

NAMES = {
    "en": "Kenya trade fair calendar",
    "fr": "Calendrier des salons du Kenya",
    "es": "Calendario de ferias de Kenia",
}


def spec(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "ke_epc_fairs",
        "name": NAMES["en"],
        "names": {"fr": NAMES["fr"], "es": NAMES["es"]},
        "kind": "fair",
        "format": "schema_org",
        "start_urls": ["https://fairs.example.org/"],
        "owner": "agency_a",
    }
    data.update(kw)
    return data


# --------------------------------------------------------------------------- the format


def test_names_beside_name() -> None:
    source = parse_source(spec())
    assert source.names == {"fr": NAMES["fr"], "es": NAMES["es"]}
    assert [source.name_in(lang) for lang in ("en", "fr", "es")] == list(NAMES.values())
    # optional, and partial: a language without a name gets `name`
    assert parse_source(spec(names=None)).name_in("fr") == NAMES["en"]
    only_fr = parse_source(spec(names={"fr": " Salons du Kenya "}))
    assert only_fr.name_in("fr") == "Salons du Kenya" and only_fr.name_in("es") == NAMES["en"]


@pytest.mark.parametrize(
    ("names", "says"),
    [
        ({"de": "Messekalender"}, "'de' is not a language of the site's pages"),
        ({"en": "Other name"}, "the English name is `name`"),
        ({"fr": "   "}, "fr: a name of 1 to 200 characters"),
        ({"es": "x" * 201}, "es: a name of 1 to 200 characters"),
        (["Calendrier"], "names"),
        ({"fr": 3}, "names.fr"),
    ],
)
def test_bad_names_are_refused_naming_the_field(names: Any, says: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_source(spec(names=names))
    text = str(exc.value)
    assert "names" in text and says in text


def test_the_api_refuses_bad_names_with_a_clear_4xx(client: TestClient, store: Store) -> None:
    key = create_key(store, "agency_a", "agency")
    headers = {"Authorization": f"Bearer {key}"}
    resp = client.post("/api/v1/sources", json=spec(names={"de": "x"}), headers=headers)
    assert resp.status_code == 422
    assert resp.json()["error"]["message"].startswith("names")
    assert store.list_sources() == []
    resp = client.post("/api/v1/sources", json=spec(), headers=headers)
    assert resp.status_code == 201, resp.text
    got = client.get("/api/v1/sources/ke_epc_fairs").json()
    assert got["names"] == {"fr": NAMES["fr"], "es": NAMES["es"]}


def test_every_builtin_and_catalogue_source_is_named_in_french_and_spanish() -> None:
    sources = [*builtin_sources(), *catalogue_sources()]
    assert len(sources) >= 13
    for source in sources:
        assert source.names is not None, source.id
        assert set(source.names) == {"fr", "es"}, source.id
        assert source.names["fr"] != source.name and source.names["es"] != source.name


def test_the_agency_form_has_a_field_for_each_name_and_keeps_them() -> None:
    fields = [f.name for f in form_fields("schema_org", "fair")]
    assert fields[:4] == ["id", "name", "names.fr", "names.es"]
    values = form_values(parse_source(spec()).model_dump(mode="json"))
    assert values["names.fr"] == NAMES["fr"] and values["names.es"] == NAMES["es"]
    assert "names" not in values.get("advanced", "")
    back, problems = source_from_form(values)
    assert problems == []
    assert parse_source(back).names == {"fr": NAMES["fr"], "es": NAMES["es"]}
    # a name left empty in the form is no name in that language
    back, _ = source_from_form({**values, "names.es": ""})
    assert parse_source(back).names == {"fr": NAMES["fr"]}


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def named(store: Store, backend: SearchBackend) -> None:
    store.add_source(parse_source(spec()))
    store.upsert_records(
        [
            fair(
                "ke_epc_fairs:1",
                "Nairobi Coffee Expo",
                source_id="ke_epc_fairs",
                country="KE",
                markets=["KE"],
                url="https://fairs.example.org/coffee",
            )
        ]
    )
    drain_outbox(store, backend)


@pytest.mark.usefixtures("named")
@pytest.mark.parametrize("lang", ["en", "fr", "es"])
@pytest.mark.parametrize("path", ["/records/ke_epc_fairs:1", "/markets/KE", "/markets/KE?hs=0901"])
def test_pages_show_the_source_name_in_their_language(
    client: TestClient, lang: str, path: str
) -> None:
    sep = "&" if "?" in path else "?"
    html = unescape(client.get(f"{path}{sep}lang={lang}").text)
    assert NAMES[lang] in html
    for other in set(NAMES) - {lang}:
        assert NAMES[other] not in html


@pytest.mark.usefixtures("named")
@pytest.mark.parametrize("lang", ["fr", "es"])
def test_agency_pages_show_the_source_name_in_their_language(
    client: TestClient, store: Store, lang: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    client.get(f"/agency/signin?lang={lang}")  # the language cookie
    assert sign_in(client, key).status_code == 303
    html = unescape(client.get("/agency/sources").text)
    assert NAMES[lang] in html and NAMES["en"] not in html
    html = unescape(client.get("/agency/sources/ke_epc_fairs").text)
    assert f"<title>{NAMES[lang]}" in html and f"<h1>{NAMES[lang]} <code>" in html
    # the source's YAML, shown to its agency as written, keeps every name
    assert f"name: {NAMES['en']}" in html
