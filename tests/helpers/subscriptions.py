"""Subscribing through the API, and the records subscriptions are about."""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from tests.helpers.factories import fair
from tests.helpers.mail import Mailbox, confirm_link

BASE_URL = "https://tradepoint.example"
"""The public URL of the app in the `mail_settings` fixture: the links in emails use it."""


def path_of(url: str) -> str:
    """Our links use BASE_URL; the test client serves the same paths."""
    assert url.startswith(BASE_URL), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def upcoming(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def seed(store: Store, backend: SearchBackend, *records: Any) -> None:
    store.upsert_records(list(records))
    drain_outbox(store, backend)


def german_food_fair(id: str = "t_src:berlin", **kw: Any) -> Any:
    data = {
        "title": "Berlin Food Fair",
        "country": "DE",
        "city": "Berlin",
        "venue": "Messe Berlin",
        "sectors": ["food"],
        "start_date": upcoming(100),
        "end_date": upcoming(102),
    }
    data.update(kw)
    return fair(id, **data)


def subscribe(client: TestClient, mailbox: Mailbox, **body: Any) -> EmailMessage:
    """Subscribe and return the confirmation email."""
    payload = {"email": "advisor@example.org", "markets": ["DE"], "sectors": ["food"], **body}
    before = len(mailbox.messages)
    r = client.post("/api/v1/subscriptions", json=payload)
    assert r.status_code == 202, r.text
    assert len(mailbox.messages) == before + 1
    return mailbox.messages[-1]


def subscribe_and_confirm(client: TestClient, mailbox: Mailbox, **body: Any) -> dict[str, Any]:
    """Returns the owner's view (GET /api/v1/subscriptions/{token}) after confirming."""
    msg = subscribe(client, mailbox, **body)
    link = confirm_link(msg)
    r = client.get(path_of(link), headers={"accept": "text/html"})
    assert r.status_code == 200, r.text
    token = urlsplit(link).path.split("/")[2]
    view = client.get(f"/api/v1/subscriptions/{token}").json()
    view["token"] = token
    return view
