"""The search backend is unavailable during a crawl: the crawl still lands every record in the
system of record and the outbox, /readyz says degraded meanwhile, and once the backend is back
draining the outbox leaves the index holding all of them.

Three ways of being unavailable: the tantivy index storage gone (its live generation moved
away), the tantivy index busy (another process holds its writer lock, as a reindex does), and
Elasticsearch down (a closed port that later forwards to the test server).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.cli import main as tradepoint
from search_api.errors import SearchUnavailable
from search_api.search import create_backend
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.es_server import drop_indices, server_url, unique_prefix
from tests.helpers.fault_server import FaultServer, TcpGate, event_title
from tests.helpers.fault_server import run_fault_server as _run_fault_server

pytestmark = pytest.mark.crawl

EVENTS = 12


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with _run_fault_server() as server:
        server.site_events = EVENTS
        yield server


def _add_site_source(store: Store, faults: FaultServer) -> str:
    from search_api.domain.sources import parse_source

    spec = parse_source(
        dict(
            id="xx_index_down",
            name="Site",
            kind="fair",
            format="schema_org",
            start_urls=[faults.url("/site/index.html")],
            follow={"allow": ["/site/event-"]},
            min_items=1,
        )
    )
    store.add_source(spec)
    return spec.id


def _crawl_with_cli(source_id: str, capsys: pytest.CaptureFixture[str]) -> str:
    """`tradepoint crawl SOURCE`, as an operator runs it; returns what it printed."""
    assert tradepoint(["crawl", source_id]) == 0
    return capsys.readouterr().out


def _assert_in_store_and_outbox(store: Store, faults: FaultServer, source_id: str) -> set[str]:
    records = store.list_records(source_id)
    assert {r.title for r in records} == {event_title(n) for n in faults.site_names()}
    ids = {r.id for r in records}
    assert {record_id for _, record_id, _ in store.fetch_outbox()} == ids
    return ids


def _search_ids(client: TestClient) -> set[str]:
    resp = client.get("/api/v1/search", params={"q": "Reliability Fair", "size": 100})
    assert resp.status_code == 200, resp.text
    return {item["id"] for item in resp.json()["items"]}


def _assert_degraded(client: TestClient, pending: int) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert (checks["store"], checks["outbox_pending"], checks["search"]) == (
        "ok",
        pending,
        "unavailable",
    )
    assert checks["reason"] == "the search index does not answer"
    # Searches say why instead of failing with a 500.
    search = client.get("/api/v1/search", params={"q": "fair"})
    assert search.status_code == 503
    assert search.json()["error"]["code"] == "search_unavailable"


def _assert_recovered(
    client: TestClient, store: Store, backend: SearchBackend, ids: set[str]
) -> None:
    assert drain_outbox(store, backend) == len(ids)
    assert store.outbox_size() == 0
    assert _search_ids(client) == ids
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["outbox_pending"] == 0


def test_tantivy_index_gone_during_a_crawl(
    settings: Settings,
    store: Store,
    backend: SearchBackend,
    client: TestClient,
    faults: FaultServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source_id = _add_site_source(store, faults)
    assert client.get("/readyz").status_code == 200
    generation = json.loads((settings.index_dir / "CURRENT").read_text())["generation"]
    live, away = settings.index_dir / generation, settings.index_dir.parent / "index-away"
    live.rename(away)  # the index storage is gone (an unmounted volume, a deleted directory)

    out = _crawl_with_cli(source_id, capsys)

    assert "search index not updated now" in out
    ids = _assert_in_store_and_outbox(store, faults, source_id)
    _assert_degraded(client, pending=EVENTS)
    with pytest.raises(SearchUnavailable):
        drain_outbox(store, backend)
    assert store.outbox_size() == EVENTS  # nothing acknowledged while the index failed

    away.rename(live)
    _assert_recovered(client, store, backend, ids)


HOLD_WRITER_LOCK = """
import json, sys, tantivy
from pathlib import Path
root = Path(sys.argv[1])
generation = json.loads((root / "CURRENT").read_text())["generation"]
writer = tantivy.Index.open(str(root / generation)).writer(heap_size=15_000_000, num_threads=1)
print("locked", flush=True)
sys.stdin.read()
"""


def test_tantivy_index_locked_by_another_process_during_a_crawl(
    settings: Settings,
    store: Store,
    backend: SearchBackend,
    client: TestClient,
    faults: FaultServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source_id = _add_site_source(store, faults)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER_LOCK, str(settings.index_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        out = _crawl_with_cli(source_id, capsys)

        assert "search index not updated now" in out and "locked by another writer" in out
        ids = _assert_in_store_and_outbox(store, faults, source_id)
        # A busy index still answers searches: ready, with the lag visible.
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["outbox_pending"] == EVENTS
        assert _search_ids(client) == set()
    finally:
        holder.communicate("", timeout=30)  # releases the lock
    _assert_recovered(client, store, backend, ids)


@pytest.fixture
def es_gate() -> Iterator[TcpGate]:
    url = server_url()  # skips when no Elasticsearch-compatible server can be had
    parts = urlsplit(url)
    gate = TcpGate((parts.hostname or "127.0.0.1", parts.port or 9200))
    yield gate
    gate.close()


def test_elasticsearch_down_during_a_crawl(
    settings: Settings,
    store: Store,
    faults: FaultServer,
    es_gate: TcpGate,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = unique_prefix()
    # The CLI (this process) reads the environment; the app gets the same settings.
    monkeypatch.setenv("TRADEPOINT_ELASTICSEARCH_URL", es_gate.url)
    monkeypatch.setenv("TRADEPOINT_INDEX_PREFIX", prefix)
    es_settings = Settings()
    backend = create_backend(es_settings)
    assert backend.name != "tantivy"
    app = create_app(es_settings, store=store, backend=backend, background_indexer=False)
    source_id = _add_site_source(store, faults)
    try:
        with TestClient(app) as client:
            out = _crawl_with_cli(source_id, capsys)

            assert "search index not updated now" in out
            ids = _assert_in_store_and_outbox(store, faults, source_id)
            _assert_degraded(client, pending=EVENTS)
            with pytest.raises(SearchUnavailable):
                drain_outbox(store, backend)
            assert store.outbox_size() == EVENTS

            es_gate.open()  # Elasticsearch is back, on the same URL
            _assert_recovered(client, store, backend, ids)
    finally:
        backend.close()
        drop_indices(server_url(), prefix)
