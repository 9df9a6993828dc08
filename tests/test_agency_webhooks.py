"""The agency pages for webhooks: add one (the secret shown once), its delivery log, disable and
enable, a new secret, delete; CSRF-checked, in the agency's language, hostile input escaped."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from search_api.services import webhooks as wh
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in, token
from tests.helpers.factories import fair
from tests.helpers.webhooks import Receiver


def test_an_agency_adds_and_follows_a_webhook(
    api: TestClient,
    store: Store,
    receiver: Receiver,
    hook_settings: Settings,
) -> None:
    assert sign_in(api, create_key(store, "agency_a", "agency")).status_code == 303
    page = api.get("/agency/webhooks")
    assert page.status_code == 200 and "No webhooks yet." in page.text
    form = {
        "csrf_token": token(api, "/agency/webhooks"),
        "url": receiver.url,
        "description": "<script>alert(1)</script>",
        "search": "kind=fair&market=KE",
        "events": ["record.created", "record.changed"],
    }
    made = api.post("/agency/webhooks", data=form)
    assert made.status_code == 200
    secret = re.search(r'<pre class="secret">(whsec_[^<]+)</pre>', made.text)
    assert secret, made.text
    receiver.secret = secret.group(1)
    assert "<script>alert(1)</script>" not in made.text and "&lt;script&gt;" in made.text
    hook_id = int(re.search(r"Webhook (\d+)", made.text).group(1))  # type: ignore[union-attr]
    detail = api.get(f"/agency/webhooks/{hook_id}")
    assert "whsec_" not in detail.text  # shown once only
    assert "kind=fair" in detail.text and "market=KE" in detail.text

    store.upsert_records([fair()])
    wh.process(hook_settings, store)
    detail = api.get(f"/agency/webhooks/{hook_id}")
    assert "record.created" in detail.text and "t_src:1" in detail.text
    assert "Delivered" in detail.text

    # In French, the log's words are French.
    fr = api.get(f"/agency/webhooks/{hook_id}?lang=fr")
    assert "Envois" in fr.text and "Livré" in fr.text

    off = api.post(
        f"/agency/webhooks/{hook_id}/enable",
        data={"csrf_token": token(api, f"/agency/webhooks/{hook_id}"), "enabled": "0"},
    )
    assert off.status_code == 200 and "Webhook désactivé." in off.text  # lang cookie kept
    rotated = api.post(
        f"/agency/webhooks/{hook_id}/rotate",
        data={"csrf_token": token(api, f"/agency/webhooks/{hook_id}")},
    )
    new_secret = re.search(r'<pre class="secret">(whsec_[^<]+)</pre>', rotated.text)
    assert new_secret and new_secret.group(1) != receiver.secret

    forged = api.post(f"/agency/webhooks/{hook_id}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    gone = api.post(
        f"/agency/webhooks/{hook_id}/delete",
        data={"csrf_token": token(api, f"/agency/webhooks/{hook_id}")},
    )
    assert gone.status_code == 200 and "Aucun webhook pour l’instant." in gone.text


def test_a_bad_webhook_form_is_shown_again_with_the_reason(
    api: TestClient,
    store: Store,
) -> None:
    sign_in(api, create_key(store, "agency_a", "agency"))
    form = {
        "csrf_token": token(api, "/agency/webhooks"),
        "url": "https://example.org/hook",
        "search": "market=Atlantis",
        "events": ["record.created"],
    }
    r = api.post("/agency/webhooks", data=form)
    assert r.status_code == 422
    assert "search.market" in r.text and 'value="market=Atlantis"' in r.text


def test_webhook_pages_need_a_sign_in(api: TestClient) -> None:
    r = api.get("/agency/webhooks", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/agency/signin"
