"""Subscriptions against a real SMTP server (aiosmtpd on a loopback port): double opt-in,
owner views through the token, one-click unsubscribe, and refusals of bad input.

The SMTP server and the app wired to it are fixtures of tests/conftest.py (`mailbox`,
`mail_settings`, `mail_client`); the subscribing steps are tests/helpers/subscriptions.py.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from schedules.digests import send_digests
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import subscriptions as subs
from tests.helpers.mail import Mailbox, confirm_link, html_of, text_of
from tests.helpers.subscriptions import (
    BASE_URL,
    german_food_fair,
    path_of,
    seed,
    subscribe,
    subscribe_and_confirm,
)

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")

# --------------------------------------------------------------------------- tests


def test_subscribe_sends_one_confirmation_and_nothing_else_until_confirmed(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, german_food_fair())
    r = mail_client.post(
        "/api/v1/subscriptions",
        json={"email": " Advisor@Example.ORG ", "markets": ["Germany"], "sectors": ["food"]},
    )
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "pending_confirmation"
    # The token only travels by email: the response cannot be used to skip the opt-in.
    assert "token" not in r.text and "feeds/" not in r.text

    [msg] = mailbox.messages
    assert msg["To"] == "Advisor@example.org"
    assert msg["From"] == "Tradepoint <alerts@tradepoint.example>"
    assert msg.is_multipart() and msg.get_content_type() == "multipart/alternative"
    link = confirm_link(msg)
    assert link.startswith(f"{BASE_URL}/subscriptions/") and link in html_of(msg)
    assert msg["List-Unsubscribe"].startswith(f"<{BASE_URL}/subscriptions/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Mail clients read the URL from the raw header: it must not be RFC 2047-encoded.
    assert b"\nList-Unsubscribe: <https://tradepoint.example/subscriptions/" in mailbox.raw[0]
    assert "Germany" in text_of(msg) and "food" in text_of(msg)

    # Changes before confirmation: no digest goes out.
    seed(store, backend, german_food_fair(status="cancelled"), german_food_fair("t_src:new"))
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0
    assert len(mailbox.messages) == 1

    page = mail_client.get(path_of(link), headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "confirmed" in page.text and "webcal://tradepoint.example/feeds/" in page.text
    assert page.headers["cache-control"] == "no-store"

    token = urlsplit(link).path.split("/")[2]
    view = mail_client.get(f"/api/v1/subscriptions/{token}").json()
    assert view["status"] == "active"
    assert view["email"] == "Advisor@example.org"
    assert view["search"]["markets"] == ["DE"] and view["frequency"] == "weekly"
    assert view["links"]["ics"].endswith(".ics") and view["links"]["atom"].endswith(".atom")
    # The feed token is not the owner's token: a shared calendar URL cannot unsubscribe.
    assert token not in view["links"]["ics"]

    # A second click changes nothing and says so.
    again = mail_client.get(path_of(link), headers={"accept": "text/html"})
    assert "already confirmed" in again.text


def test_one_click_unsubscribe(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, german_food_fair())
    view = subscribe_and_confirm(mail_client, mailbox)
    unsubscribe = mailbox.messages[0]["List-Unsubscribe"].strip("<>")
    assert unsubscribe == view["links"]["unsubscribe"]

    # Following the link (as a mail scanner does) only shows a button.
    page = mail_client.get(path_of(unsubscribe), headers={"accept": "text/html"})
    assert page.status_code == 200 and 'method="post"' in page.text
    assert mail_client.get(f"/api/v1/subscriptions/{view['token']}").json()["status"] == "active"

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the header's URL.
    r = mail_client.post(
        path_of(unsubscribe),
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "unsubscribed" in r.text
    assert (
        mail_client.get(f"/api/v1/subscriptions/{view['token']}").json()["status"] == "unsubscribed"
    )

    seed(store, backend, german_food_fair(status="cancelled"))
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0
    assert len(mailbox.messages) == 1  # the confirmation only
    assert mail_client.get(path_of(view["links"]["ics"])).status_code == 410


def test_delete_erases_the_subscription(mail_client: TestClient, mailbox: Mailbox) -> None:
    view = subscribe_and_confirm(mail_client, mailbox)
    r = mail_client.delete(f"/api/v1/subscriptions/{view['token']}")
    assert r.status_code == 204
    r = mail_client.get(f"/api/v1/subscriptions/{view['token']}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert mail_client.get(path_of(view["links"]["ics"])).status_code == 404


def test_owner_sees_their_other_subscriptions_but_not_their_links(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    first = subscribe_and_confirm(mail_client, mailbox)
    second = subscribe_and_confirm(mail_client, mailbox, markets=["FR"], frequency="daily")
    api = mail_client.get(f"/api/v1/subscriptions/{second['token']}")
    [other] = api.json()["others"]
    assert other["frequency"] == "weekly" and other["description"]
    page = mail_client.get(f"/subscriptions/{second['token']}", headers={"accept": "text/html"})
    assert page.status_code == 200 and other["description"] in page.text
    # A forwarded manage link opens that one alert only: no token of another shows anywhere.
    for text in (api.text, page.text):
        assert first["token"] not in text
        assert first["links"]["manage"] not in text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "a@b.org\r\nBcc: victim@example.org"}, "email"),
        ({"email": "a@b.org", "markets": ["Atlantis"]}, "markets"),
        ({"email": "a@b.org", "sectors": ["spaceships"]}, "sectors"),
        ({"email": "a@b.org", "hs": "12x"}, "hs"),
        ({"email": "a@b.org", "kind": ["party"]}, "kind"),
        ({"email": "a@b.org", "frequency": "hourly"}, "frequency"),
        ({"email": "a@b.org", "language": "de"}, "language"),
        ({"email": "a@b.org", "days_ahead": 0}, "days_ahead"),
        ({"email": "a@b.org", "days_ahead": 30, "date_from": "2027-01-01"}, "days_ahead"),
        ({"email": "a@b.org", "date_from": "2027-02-01", "date_to": "2027-01-01"}, "date_to"),
        ({"email": "a@b.org", "colour": "blue"}, "colour"),
        ({"markets": ["DE"]}, "email"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    mail_client: TestClient, mailbox: Mailbox, store: Store, body: dict, field: str
) -> None:
    r = mail_client.post("/api/v1/subscriptions", json=body)
    assert 400 <= r.status_code < 500, r.text
    error = r.json()["error"]
    assert error["code"] and field in error["message"]
    assert mailbox.messages == []
    assert subs.list_for_email(store, "a@b.org") == []


def test_unknown_tokens_are_not_found(mail_client: TestClient) -> None:
    for path in ("/api/v1/subscriptions/nope", "/api/v1/subscriptions/" + "x" * 43):
        r = mail_client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = mail_client.get("/subscriptions/" + "x" * 43 + "/confirm", headers={"accept": "text/html"})
    assert r.status_code == 404 and "<h1>" in r.text


def test_without_smtp_subscribing_is_refused_clearly(client: TestClient, store: Store) -> None:
    r = client.post("/api/v1/subscriptions", json={"email": "a@b.org", "markets": ["DE"]})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "email_unavailable"
    assert "TRADEPOINT_SMTP_HOST" in r.json()["error"]["message"]
    assert subs.list_for_email(store, "a@b.org") == []


def test_confirmation_emails_to_one_address_are_limited(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    for _ in range(subs.MAX_PENDING_PER_EMAIL):
        subscribe(mail_client, mailbox)
    r = mail_client.post("/api/v1/subscriptions", json={"email": "advisor@example.org"})
    assert r.status_code == 429 and "email" in r.json()["error"]["message"]
    assert len(mailbox.messages) == subs.MAX_PENDING_PER_EMAIL


def test_smtp_refusal_stores_nothing(
    mail_client: TestClient, mailbox: Mailbox, store: Store
) -> None:
    mailbox.refuse.add("advisor@example.org")
    r = mail_client.post("/api/v1/subscriptions", json={"email": "advisor@example.org"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "email_failed"
    assert subs.list_for_email(store, "advisor@example.org") == []


def test_calendar_link_of_a_french_page_finds_the_same_fairs(
    mail_client: TestClient, store: Store, backend: SearchBackend
) -> None:
    # `lang` on a page is the page's language; in the API it would filter the fairs by theirs.
    seed(store, backend, german_food_fair())
    html = mail_client.get("/search", params={"market": "DE", "lang": "fr"}).text
    href = re.search(r'href="https://tradepoint\.example(/api/v1/fairs\.ics[^"]*)"', html)
    assert href is not None
    link = href.group(1).replace("&amp;", "&")
    assert "lang=" not in link and "market=DE" in link
    assert "SUMMARY:" in mail_client.get(link).text


def test_results_page_offers_subscribe_and_calendar(
    mail_client: TestClient, mailbox: Mailbox, store: Store, backend: SearchBackend
) -> None:
    seed(store, backend, german_food_fair())
    page = mail_client.get(
        "/search",
        params={"market": "DE", "sector": "food", "q": '"><script>alert(1)</script>'},
        headers={"accept": "text/html"},
    )
    assert page.status_code == 200
    html = page.text
    assert 'action="/subscriptions"' in html
    assert '<input type="hidden" name="market" value="DE">' in html
    assert '<input type="hidden" name="sector" value="food">' in html
    assert "webcal://tradepoint.example/api/v1/fairs.ics?" in html
    assert "<script>alert(1)</script>" not in html

    r = mail_client.post(
        "/subscriptions",
        data={
            "email": "advisor@example.org",
            "kind": "fair",
            "market": "DE",
            "sector": "food",
            "frequency": "daily",
            "language": "fr",
        },
        headers={"accept": "text/html"},
    )
    assert r.status_code == 200 and "Check your email" in r.text
    [msg] = mailbox.messages
    assert msg["Subject"] == "Confirmez votre abonnement Tradepoint"
    assert "Allemagne" in text_of(msg)

    bad = mail_client.post(
        "/subscriptions", data={"email": "nope", "market": "DE"}, headers={"accept": "text/html"}
    )
    assert bad.status_code == 400 and "email" in bad.text
    assert len(mailbox.messages) == 1
