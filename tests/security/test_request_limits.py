"""Class: what a client sends. Bodies are bounded (413 before they are read), slow bodies are
cut off (408), and HEAD works wherever GET does."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.net import serve_app


@pytest.fixture
def server(settings: Settings, store: Store, backend: SearchBackend) -> Iterator[str]:
    limited = settings.model_copy(update={"max_body_bytes": 10_000, "body_timeout_seconds": 1.0})
    app = create_app(limited, store=store, backend=backend, background_indexer=False)
    with serve_app(app) as base:
        yield base


def test_a_declared_oversized_body_is_refused_before_it_is_read(server: str) -> None:
    r = httpx.post(
        f"{server}/api/v1/subscriptions",
        content=b"x" * 20_000,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"
    assert "TRADEPOINT_MAX_BODY_BYTES" in r.json()["error"]["message"]


def test_a_chunked_oversized_body_is_cut_off_at_the_limit(server: str) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1 MB if nobody stopped it
            sent += 1000
            yield b"x" * 1000

    r = httpx.post(f"{server}/api/v1/records", content=chunks(), headers={"authorization": "x"})
    assert r.status_code == 413


def test_a_body_that_stops_arriving_is_cut_off(server: str) -> None:
    def slow() -> Iterator[bytes]:
        yield b'{"email": "a@'
        time.sleep(3)
        yield b'example.org"}'

    started = time.monotonic()
    try:
        r = httpx.post(
            f"{server}/api/v1/subscriptions",
            content=slow(),
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert r.status_code == 408
    except httpx.HTTPError:
        pass  # the server may close before the client finishes sending; either way it let go
    assert time.monotonic() - started < 6


def test_head_answers_wherever_get_does(client: TestClient) -> None:
    for path in ("/", "/search", "/api/v1/search", "/healthz", "/docs"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
