"""Class: two clients creating the same thing at once. Exactly one is told "created", the
others 409, never a 500, and no acknowledged write is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.net import serve_app


@pytest.mark.databases("sqlite", "postgresql")
def test_thirty_clients_creating_one_slug_get_one_201_and_29_409(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    key = create_key(store, "agency_a", "agency")
    app = create_app(settings, store=store, backend=backend, background_indexer=False)

    def create(n: int) -> tuple[int, str]:
        body = {"kind": "fair", "slug": "race-slug-1", "title": f"Client {n}'s fair"}
        r = httpx.post(
            f"{base}/api/v1/records",
            json=body,
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
        return r.status_code, body["title"]

    with serve_app(app) as base, ThreadPoolExecutor(30) as pool:
        results = list(pool.map(create, range(30)))
    codes = sorted(code for code, _ in results)
    assert codes == [201] + [409] * 29, codes
    [winner] = [title for code, title in results if code == 201]
    stored = store.get_record("curated_agency_a:race-slug-1")
    assert stored is not None and stored.title == winner  # the acknowledged write is the one kept
