"""Issue 16, point 7: a message on an agency page is in the language of the page it is shown
on, not of the request that made it (the message is kept as its English msgid and variables,
and translated when shown)."""

from __future__ import annotations

from html import unescape

import pytest
from fastapi.testclient import TestClient

from search_api.domain.sources import parse_source
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import token

SIGNED_IN = {
    "en": "Signed in as agency_a.",
    "fr": "Connecté en tant que agency_a.",
    "es": "Sesión iniciada como agency_a.",
}


def flash(html: str) -> str:
    text = unescape(html)
    start = text.index('<p class="flash" role="status">') + len('<p class="flash" role="status">')
    return text[start : text.index("</p>", start)]


@pytest.mark.parametrize(("posted_in", "shown_in"), [("en", "fr"), ("fr", "es"), ("es", "en")])
def test_signed_in_is_said_in_the_language_of_the_page_showing_it(
    client: TestClient, store: Store, posted_in: str, shown_in: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    client.get(f"/agency/signin?lang={posted_in}")  # the sign-in page, in its language
    resp = client.post(
        "/agency/signin",
        data={"api_key": key, "csrf_token": token(client, "/agency/signin")},
        headers={"Accept-Language": posted_in},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(f"/agency/sources?lang={shown_in}")
    assert flash(page.text) == SIGNED_IN[shown_in]
    # shown once
    assert 'class="flash"' not in client.get("/agency/sources").text


@pytest.fixture
def signed_in(client: TestClient, store: Store) -> TestClient:
    key = create_key(store, "agency_a", "agency")
    client.get("/agency/signin?lang=en")
    resp = client.post(
        "/agency/signin",
        data={"api_key": key, "csrf_token": token(client, "/agency/signin")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    client.get("/agency/sources")  # the sign-in message, shown
    store.add_source(
        parse_source(
            {
                "id": "ke_epc_fairs",
                "name": "Kenya fairs",
                "kind": "fair",
                "format": "schema_org",
                "start_urls": ["https://fairs.example.org/"],
                "owner": "agency_a",
            }
        )
    )
    return client


def test_a_crawl_already_running_is_said_in_the_pages_language(
    signed_in: TestClient, store: Store
) -> None:
    run = store.start_run("ke_epc_fairs")
    csrf = token(signed_in, "/agency/sources/ke_epc_fairs")
    resp = signed_in.post(
        "/agency/sources/ke_epc_fairs/crawl", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert resp.status_code == 303
    page = signed_in.get("/agency/sources/ke_epc_fairs?lang=fr")
    said = flash(page.text)
    assert said.startswith(
        f"Cette source est déjà en cours d’exécution (exécution {run}, depuis le "
    )
    assert said.endswith(" UTC) ; rechargez la page pour la suivre.")


def test_removing_a_source_is_said_in_the_pages_language(signed_in: TestClient) -> None:
    csrf = token(signed_in, "/agency/sources/ke_epc_fairs/delete")
    resp = signed_in.post(
        "/agency/sources/ke_epc_fairs/delete",
        data={"csrf_token": csrf, "confirm": "yes"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = signed_in.get("/agency/sources?lang=es")
    assert flash(page.text).startswith("Fuente ke_epc_fairs")
