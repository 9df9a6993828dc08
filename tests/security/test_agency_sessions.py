"""Class: web sessions that outlive their end. Signing out ends the session on the server: a
copy of the session cookie taken before (a shared computer, a stolen cookie) opens nothing
afterwards, and neither does it after the key is revoked or once the session has expired."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from search_api.store import Store
from search_api.store.base import utcnow
from search_api.store.keys import create_key, revoke_key, verify_key
from search_api.store.tables import AgencySessionRow
from tests.helpers.agency import sign_in, token

COOKIE = "tradepoint_session"


def signed_in_cookie(client: TestClient, key: str) -> str:
    r = sign_in(client, key)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/agency/sources"
    return client.cookies[COOKIE]


def create_record_with(client: TestClient, cookie: str, slug: str) -> Response:
    """POST the agency's new-record form with only the captured cookie."""
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    page = client.get("/agency/records/new", follow_redirects=False)
    if page.status_code != 200:
        return page
    return client.post(
        "/agency/records/new",
        data={
            "csrf_token": token(client, "/agency/records/new"),
            "kind": "fair",
            "slug": slug,
            "title": "Captured cookie fair",
        },
        follow_redirects=False,
    )


def test_a_cookie_captured_before_sign_out_opens_nothing_after(
    client: TestClient, store: Store
) -> None:
    key = create_key(store, "agency_a", "agency")
    captured = signed_in_cookie(client, key)
    assert client.get("/agency/sources", follow_redirects=False).status_code == 200

    r = client.post(
        "/agency/signout",
        data={"csrf_token": token(client, "/agency/sources")},
        follow_redirects=False,
    )
    assert r.status_code == 303

    # the attacker replays the cookie as it was before sign-out
    client.cookies.clear()
    client.cookies.set(COOKIE, captured)
    r = client.get("/agency/sources", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/agency/signin"
    r = create_record_with(client, captured, "captured-cookie")
    assert r.headers.get("location") == "/agency/signin"
    assert store.get_records(["curated_agency_a:captured-cookie"]) == {}
    for path in ("/agency/records", "/agency/webhooks", "/agency/sources/new"):
        client.cookies.clear()
        client.cookies.set(COOKIE, captured)
        assert client.get(path, follow_redirects=False).headers.get("location") == (
            "/agency/signin"
        ), path


def test_signing_out_ends_only_that_session(client: TestClient, store: Store) -> None:
    key = create_key(store, "agency_a", "agency")
    laptop = signed_in_cookie(client, key)
    client.cookies.clear()
    phone = signed_in_cookie(client, key)
    assert laptop != phone
    client.post(
        "/agency/signout",
        data={"csrf_token": token(client, "/agency/sources")},
        follow_redirects=False,
    )
    client.cookies.clear()
    client.cookies.set(COOKIE, laptop)
    assert client.get("/agency/sources", follow_redirects=False).status_code == 200
    assert verify_key(store, key) is not None  # the key itself still works


def test_a_session_ends_with_its_key_and_at_its_expiry(client: TestClient, store: Store) -> None:
    key = create_key(store, "agency_a", "agency")
    cookie = signed_in_cookie(client, key)
    with store.session() as s, s.begin():
        s.execute(update(AgencySessionRow).values(expires_at=utcnow() - timedelta(seconds=1)))
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    assert client.get("/agency/sources", follow_redirects=False).status_code == 303

    client.cookies.clear()
    cookie = signed_in_cookie(client, key)
    principal = verify_key(store, key)
    assert principal is not None
    revoke_key(store, principal.key_id)
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    assert client.get("/agency/sources", follow_redirects=False).status_code == 303


def test_signing_in_again_replaces_the_session(client: TestClient, store: Store) -> None:
    """Session fixation: a session id set before sign-in never becomes a signed-in one."""
    key_a = create_key(store, "agency_a", "agency")
    key_b = create_key(store, "agency_b", "agency")
    first = signed_in_cookie(client, key_a)
    second = signed_in_cookie(client, key_b)
    assert first != second
    client.cookies.clear()
    client.cookies.set(COOKIE, first)
    # the first session ended when the browser signed in as another agency
    assert client.get("/agency/sources", follow_redirects=False).status_code == 303
