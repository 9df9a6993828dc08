"""Signing in to the agency pages, and the CSRF token their forms carry."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def token(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert found, "no CSRF token in the form"
    return found.group(1)


def sign_in(client: TestClient, key: str) -> Any:
    return client.post(
        "/agency/signin",
        data={"api_key": key, "csrf_token": token(client, "/agency/signin")},
        follow_redirects=False,
    )
