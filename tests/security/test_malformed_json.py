"""Class: malformed JSON bodies. Every JSON endpoint answers 422 with a message a person can act
on: what is wrong and where (line, column), never FastAPI's '27: JSON decode error'."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from search_api.store import Store
from search_api.store.keys import create_key

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"email": "a@example.org",\n "q": }', "line 2, column 7"),
        (b'{"email": "a@example.org", }', "line 1, column 28"),
        (b"{", "line 1, column 2"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/subscriptions", "/api/v1/records", "/api/v1/sources"])
def test_a_json_syntax_error_says_where(
    client: TestClient, store: Store, path: str, body: bytes, where: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    r = client.post(path, content=body, headers={**JSON, "Authorization": f"Bearer {key}"})
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert message.startswith("body is not valid JSON: ")
    assert where in message
    assert "JSON decode error" not in message
