"""Issue 16: every sentence the JSON API writes for a person is in the client's language
(Accept-Language, negotiated: en, fr or es, English by default), while `lang` stays the filter
on the records' own language. Answers say Content-Language and vary on Accept-Language, and
the answer cache never serves one language's answer to another's client."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.domain import i18n
from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.catalogue import FILES, load
from tests.helpers.mail import smtp_server

AFDB = "starter_finance:afdb-trade-finance-program"
AFRICA_KE = {
    "en": "Open to exporters from all 54 African countries, including Kenya",
    "fr": "Ouvert aux exportateurs des 54 pays africains, dont : Kenya",
    "es": "Abierto a exportadores de los 54 países africanos, entre ellos: Kenia",
}
AFRICA = {
    "en": "Open to exporters from all 54 African countries",
    "fr": "Ouvert aux exportateurs des 54 pays africains",
    "es": "Abierto a exportadores de los 54 países africanos",
}
HEADER = {"en": "en-GB,en;q=0.9", "fr": "fr-FR,fr;q=0.9,en;q=0.5", "es": "es-419, es;q=0.9"}


@pytest.fixture
def catalogue(store: Store, backend: SearchBackend) -> None:
    store.upsert_records([r for stem in FILES for r in load(stem)])
    drain_outbox(store, backend)


def get(client: TestClient, path: str, answer_in: str | None, **params: str) -> Any:
    """GET `path` from a client that accepts `answer_in` (no Accept-Language when None)."""
    headers = {"Accept-Language": HEADER[answer_in]} if answer_in else {}
    resp = client.get(path, params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp


# --------------------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("es_MX", "es"),
        ("de-DE, es;q=0.3", "es"),  # German is not ours: the next one that is
        ("en;q=0.2, fr;q=0.8, es;q=0.5", "fr"),
        ("fr;q=0, es;q=0.1", "es"),  # q=0 refuses
        ("tlh", "en"),  # unknown: English, no error
        ("*", "en"),
        ("fr;q=abc", "en"),  # a malformed weight drops that tag
        ("x" * 500, "en"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


# --------------------------------------------------------------------------- every field


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_eligibility_summary_in_search_fairs_records_and_markets(
    client: TestClient, lang: str
) -> None:
    resp = get(client, "/api/v1/search", lang, kind="finance", origin="KE", size="100")
    assert resp.headers["content-language"] == lang
    assert "accept-language" in resp.headers["vary"].lower()
    items = {i["id"]: i for i in resp.json()["items"]}
    assert items[AFDB]["eligibility_summary"] == AFRICA_KE[lang]

    resp = get(client, f"/api/v1/records/{AFDB}", lang)
    assert resp.headers["content-language"] == lang
    assert "accept-language" in resp.headers["vary"].lower()
    assert resp.json()["eligibility_summary"] == AFRICA[lang]

    resp = get(client, "/api/v1/markets/FR", lang, origin="KE", hs="090121")
    assert resp.headers["content-language"] == lang
    assert "accept-language" in resp.headers["vary"].lower()
    finance = {i["id"]: i for i in resp.json()["finance"]}
    assert finance[AFDB]["eligibility_summary"] == AFRICA_KE[lang]


WHY_RELATED = {
    "en": "Related to your product: food, beverages",
    "fr": "Proche de votre produit : alimentation, boissons",
    "es": "Relacionada con su producto: alimentación, bebidas",
}


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_why_a_fair_is_shown_in_the_clients_language(client: TestClient, lang: str) -> None:
    body = get(client, "/api/v1/markets/FR", lang, hs="090121", origin="KE").json()
    texts = [f["matched_product"]["text"] for f in body["fairs"]]
    assert WHY_RELATED[lang] in texts
    # the structured reason stays as it was, in every language
    related = [f for f in body["fairs"] if f["matched_product"]["text"] == WHY_RELATED[lang]]
    assert all(f["matched_product"]["fit"] == "related" for f in related)
    # the search API says the same, and so do rules that apply to every product
    found = get(client, "/api/v1/search", lang, hs="090121", market="FR", size="100").json()
    all_products = [
        i["matched_product"]["text"]
        for i in found["items"]
        if (i.get("matched_product") or {}).get("via") == "all_products"
    ]
    assert all_products
    expected = {
        "en": "Applies to all products (no HS code)",
        "fr": "S’applique à tous les produits (aucun code SH)",
        "es": "Se aplica a todos los productos (sin código SA)",
    }[lang]
    assert set(all_products) == {expected}


STEP_LABELS = {
    "en": {"register": "Register", "certify": "Certificates", "label": "Label"},
    "fr": {"register": "S'enregistrer", "certify": "Certificats", "label": "Étiqueter"},
    "es": {"register": "Registrarse", "certify": "Certificados", "label": "Etiquetar"},
}


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_checklist_and_market_names_in_the_clients_language(client: TestClient, lang: str) -> None:
    body = get(client, "/api/v1/markets/DE", lang, hs="5102", origin="PE").json()
    labels = {s["action"]: s["label"] for s in body["checklist"]["steps"]}
    for action, label in STEP_LABELS[lang].items():
        if action in labels:
            assert labels[action] == label
    assert "register" in labels  # LUCID
    assert body["market"]["name"] == {"en": "Germany", "fr": "Allemagne", "es": "Alemania"}[lang]
    assert body["origin"]["name"] == {"en": "Peru", "fr": "Pérou", "es": "Perú"}[lang]
    eu = {"en": "European Union", "fr": "Union européenne", "es": "Unión Europea"}[lang]
    assert {"code": "EU", "name": eu} in body["market"]["blocs"]
    assert body["market"]["names"]["fr"] == "Allemagne"  # the map of every name stays


@pytest.mark.parametrize(
    ("lang", "comments", "applies"),
    [
        ("en", "Comments close on ", "Applies from "),
        ("fr", "Commentaires jusqu’au ", "S’applique à partir du "),
        ("es", "Comentarios hasta el ", "Se aplica desde el "),
    ],
)
def test_checklist_dates_in_words(
    client: TestClient,
    store: Store,
    backend: SearchBackend,
    lang: str,
    comments: str,
    applies: str,
) -> None:
    deadline = date.today() + timedelta(days=20)
    rule = parse_record(
        {
            "id": "t_src:r1",
            "kind": "requirement",
            "title": "Kenya: draft labelling standard for roasted coffee",
            "source_id": "t_src",
            "markets": ["KE"],
            "requirement_type": "labelling",
            "status": "proposed",
            "comment_deadline": deadline.isoformat(),
            "effective_date": (date.today() + timedelta(days=200)).isoformat(),
        }
    )
    store.upsert_records([rule])
    drain_outbox(store, backend)
    dates = get(client, "/api/v1/markets/KE", lang).json()["checklist"]["dates"]
    assert dates[0]["text"] == comments + i18n.fmt_date_in(lang, deadline)
    assert dates[1]["text"].startswith(applies)
    assert dates[0]["date"] == deadline.isoformat()  # the date itself stays ISO


@pytest.mark.usefixtures("catalogue")
def test_notices_follow_the_client_and_lang_stays_the_records_filter(client: TestClient) -> None:
    fr = get(client, "/api/v1/search", "fr", lang="tlh").json()
    (notice,) = fr["notices"]
    assert notice["message"].startswith("lang: Aucune fiche n’est en Klingon (tlh)")
    assert notice["field"] == "lang" and notice["language"] == "tlh"
    # `lang` filters the records: lang=fr finds no record (the catalogue is in English) and
    # says so in the client's language, never switches the answer to French
    resp = get(client, "/api/v1/search", "es", lang="fr")
    assert resp.headers["content-language"] == "es"
    body = resp.json()
    assert body["total"] == 0
    assert body["notices"][0]["message"].startswith("lang: Todavía no hay fichas en Francés (fr)")
    resp = get(client, "/api/v1/search", None, lang="fr", kind="finance")
    assert resp.headers["content-language"] == "en"


@pytest.mark.usefixtures("catalogue")
def test_an_unknown_language_is_english_without_error(client: TestClient) -> None:
    for header in ("tlh", "de-DE, it;q=0.5", "fr;q=zero", "**;;q=="):
        resp = client.get(f"/api/v1/records/{AFDB}", headers={"Accept-Language": header})
        assert resp.status_code == 200
        assert resp.headers["content-language"] == "en"
        assert resp.json()["eligibility_summary"] == AFRICA["en"]


@pytest.mark.usefixtures("catalogue")
def test_q_values_choose_the_language(client: TestClient) -> None:
    headers = {"Accept-Language": "en;q=0.3, es;q=0.6, fr;q=0.9"}
    resp = client.get(f"/api/v1/records/{AFDB}", headers=headers)
    assert resp.headers["content-language"] == "fr"
    assert resp.json()["eligibility_summary"] == AFRICA["fr"]
    headers = {"Accept-Language": "fr;q=0, es;q=0.2, de"}
    resp = client.get("/api/v1/search", params={"kind": "finance"}, headers=headers)
    assert resp.headers["content-language"] == "es"


# --------------------------------------------------------------------------- caches


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    "params",
    [
        {"kind": "finance", "origin": "KE", "size": "100"},  # who may apply
        {"kind": "fair", "hs": "090121", "market": "FR"},  # why a fair is shown
    ],
)
def test_the_answer_cache_never_mixes_languages(client: TestClient, params: dict[str, str]) -> None:
    path = "/api/v1/search"

    def texts(resp: Any) -> list[str]:
        items = resp.json()["items"]
        return [i.get("eligibility_summary") or i["matched_product"]["text"] for i in items]

    first = {lang: get(client, path, lang, **params) for lang in ("en", "fr", "es")}
    again = {lang: get(client, path, lang, **params) for lang in ("es", "fr", "en")}
    for lang in ("en", "fr", "es"):
        assert texts(first[lang]) == texts(again[lang])
        assert again[lang].headers["content-language"] == lang
    assert texts(first["en"]) != texts(first["fr"]) != texts(first["es"])
    etags = {lang: first[lang].headers["etag"] for lang in first}
    assert len(set(etags.values())) == 3
    # a French client revalidating with the English answer's ETag gets the French answer
    resp = client.get(
        path,
        params=params,
        headers={"Accept-Language": "fr", "If-None-Match": etags["en"]},
    )
    assert resp.status_code == 200 and resp.headers["content-language"] == "fr"
    resp = client.get(
        path,
        params=params,
        headers={"Accept-Language": "fr", "If-None-Match": etags["fr"]},
    )
    assert resp.status_code == 304
    assert resp.headers["content-language"] == "fr"


def test_an_answer_without_sentences_still_names_its_language(client: TestClient) -> None:
    """Even an answer whose bytes are the same in every language (no finance record) is a
    different representation: its ETag differs, so no cache hands one for the other."""
    en = get(client, "/api/v1/search", "en")
    fr = get(client, "/api/v1/search", "fr")
    assert en.content == fr.content
    assert en.headers["etag"] != fr.headers["etag"]
    assert (en.headers["content-language"], fr.headers["content-language"]) == ("en", "fr")


def test_a_new_subscriptions_reply_follows_the_client(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    """The reply's message is in the client's language; the emails keep the subscription's
    own `language`."""
    with smtp_server() as box:
        mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": box.port})
        app = create_app(mail, store=store, backend=backend, background_indexer=False)
        with TestClient(app) as c:
            body = {"email": "advisor@example.org", "kind": ["fair"], "language": "en"}
            resp = c.post("/api/v1/subscriptions", json=body, headers={"Accept-Language": "es"})
            assert resp.status_code == 202, resp.text
            assert resp.headers["content-language"] == "es"
            reply = resp.json()
            assert reply["language"] == "en"
            assert reply["message"] == (
                "Se envió un enlace de confirmación a advisor@example.org; no se envía nada más "
                "antes de que se abra."
            )
