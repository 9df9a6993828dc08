"""Class: the public subscribe form sends email to whoever is named in it. Rate limits per
client and overall, address limits whatever the letter case, and what the email repeats of
the visitor's words kept short and free of links; malformed addresses answered 400, never 500."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.mail import Mailbox, smtp_server


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def _client(settings: Settings, store: Store, backend: SearchBackend, **limits: int) -> TestClient:
    app = create_app(
        settings.model_copy(update=limits), store=store, backend=backend, background_indexer=False
    )
    return TestClient(app)


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": mailbox.port})


def test_one_client_cannot_send_a_hundred_confirmations(
    mail_settings: Settings, store: Store, backend: SearchBackend, mailbox: Mailbox
) -> None:
    with _client(mail_settings, store, backend, subscribe_limit_per_client_hour=5) as c:
        codes = [
            c.post("/api/v1/subscriptions", json={"email": f"a{i}@example.org"}).status_code
            for i in range(8)
        ]
        refused = c.post("/api/v1/subscriptions", json={"email": "z@example.org"})
    assert codes == [202] * 5 + [429] * 3
    assert refused.headers["retry-after"] == "3600"
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert len(mailbox.messages) == 5


def test_there_is_an_overall_limit_too(
    mail_settings: Settings, store: Store, backend: SearchBackend, mailbox: Mailbox
) -> None:
    with _client(mail_settings, store, backend, subscribe_limit_per_hour=3) as c:
        codes = [
            c.post(
                "/api/v1/subscriptions",
                json={"email": f"b{i}@example.org"},
                headers={"x-forwarded-for": f"203.0.113.{i}"},
            ).status_code
            for i in range(5)
        ]
    assert codes == [202, 202, 202, 429, 429]
    assert len(mailbox.messages) == 3


def test_the_address_limit_ignores_letter_case(
    mail_settings: Settings, store: Store, backend: SearchBackend, mailbox: Mailbox
) -> None:
    spellings = ["rl@example.org", "RL@example.org", "Rl@example.org", "rL@Example.ORG"]
    with _client(mail_settings, store, backend) as c:
        codes = [
            c.post("/api/v1/subscriptions", json={"email": spellings[i % 4]}).status_code
            for i in range(8)
        ]
    assert codes == [202] * 5 + [429] * 3
    assert len(mailbox.messages) == 5


def test_the_email_quotes_the_visitors_words_short_and_without_links(
    mail_settings: Settings, store: Store, backend: SearchBackend, mailbox: Mailbox
) -> None:
    q = "URGENT verify your account at http://bank.example/login or www.evil.com " + "x" * 100
    with _client(mail_settings, store, backend) as c:
        r = c.post("/api/v1/subscriptions", json={"email": "v@example.org", "q": q})
        assert r.status_code == 202, r.text
    [msg] = mailbox.messages
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "http://bank" not in text and "www.evil.com" not in text
    assert "x" * 70 not in text
    quoted = re.search(r"“([^”]*)”", text)
    assert quoted is not None and len(quoted.group(1)) <= 60


@pytest.mark.parametrize(
    "address", ["@example.org", "@", "a@b@example.org", "a@", "a b@example.org", "a@.org"]
)
def test_malformed_addresses_are_a_400_on_the_api_and_the_form(
    mail_settings: Settings, store: Store, backend: SearchBackend, address: str
) -> None:
    with _client(mail_settings, store, backend) as c:
        api = c.post("/api/v1/subscriptions", json={"email": address})
        form = c.post("/subscriptions", data={"email": address}, headers={"accept": "text/html"})
    assert 400 <= api.status_code < 500, api.text
    assert "email" in api.json()["error"]["message"]
    assert 400 <= form.status_code < 500
