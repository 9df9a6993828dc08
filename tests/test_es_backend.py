"""The Elasticsearch backend beyond the shared contract: versioned indices behind aliases,
rebuilds that fail safely or keep searches answering, and an unreachable cluster.

Runs against noida-db (started by tests/helpers/es_server.py) or TRADEPOINT_ELASTICSEARCH_URL.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.domain.records import AnyRecord, parse_record
from search_api.errors import SearchUnavailable, TradepointError
from search_api.search import backend_name, create_backend
from search_api.search.base import SearchBackend, SearchQuery
from search_api.search.elastic import ElasticBackend
from search_api.search.elastic import mapping as X
from search_api.search.elastic.backend import parse_state
from search_api.search.indexer import drain_outbox, reindex
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.es_server import drop_indices, fresh_backend, server_url, unique_prefix
from tests.helpers.factories import fair

KINDS = ("fair", "requirement", "finance")


@pytest.fixture
def es() -> Iterator[Elasticsearch]:
    with Elasticsearch(server_url(), request_timeout=10) as client:
        yield client


@pytest.fixture
def eb() -> Iterator[ElasticBackend]:
    b = fresh_backend(bulk_chunk=2)  # tiny chunks: several bulk requests per call
    yield b
    b.close()


def aliases(es: Elasticsearch, prefix: str) -> dict[str, set[str]]:
    """index -> its aliases, for our prefix."""
    raw = es.indices.get_alias(index=f"{prefix}-*").body
    return {index: set(info.get("aliases") or {}) for index, info in raw.items()}


def fairs(n: int, title: str = "Coffee Expo") -> list[AnyRecord]:
    return [fair(f"t_src:{i}", f"{title} {i}") for i in range(n)]


def visible(b: SearchBackend, q: str | None = None) -> set[str]:
    return {i["id"] for i in b.search(SearchQuery(q=q, size=100)).items}


def dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- aliases


def test_first_use_creates_v1_behind_aliases(eb: ElasticBackend, es: Elasticsearch) -> None:
    assert eb.ping() is True
    p = eb.prefix
    assert aliases(es, p) == {f"{p}-{k}-v1": {f"{p}-{k}", f"{p}-all"} for k in KINDS}
    mapping = es.indices.get_mapping(index=f"{p}-fair-v1").body[f"{p}-fair-v1"]["mappings"]
    assert mapping["properties"]["title"]["fields"]["fr"]["analyzer"] == "french"


def test_rebuild_swaps_aliases_and_deletes_old_indices(
    eb: ElasticBackend, es: Elasticsearch
) -> None:
    eb.index(fairs(3))
    p = eb.prefix
    assert eb.rebuild(fairs(5, "Tea Fair")) == 5
    assert aliases(es, p) == {f"{p}-{k}-v2": {f"{p}-{k}", f"{p}-all"} for k in KINDS}
    assert visible(eb, "tea") == {f"t_src:{i}" for i in range(5)}
    assert visible(eb, "coffee") == set()
    # the new indices take writes, and refresh normally again
    eb.index([fair("t_src:new", "Spice Fair")])
    assert visible(eb, "spice") == {"t_src:new"}
    settings = es.indices.get_settings(index=f"{p}-fair-v2").body[f"{p}-fair-v2"]["settings"]
    assert settings["index"].get("refresh_interval") in (None, "1s")
    assert eb.rebuild([]) == 0
    assert set(aliases(es, p)) == {f"{p}-{k}-v3" for k in KINDS}


class Boom(Exception):
    pass


def test_failed_rebuild_leaves_aliases_untouched(eb: ElasticBackend, es: Elasticsearch) -> None:
    eb.index(fairs(3))
    before = aliases(es, eb.prefix)

    def broken() -> Iterator[AnyRecord]:
        yield from fairs(5, "Tea Fair")  # several bulk requests already sent
        raise Boom("store went away")

    with pytest.raises(Boom):
        eb.rebuild(broken())
    assert aliases(es, eb.prefix) == before  # new indices deleted, aliases as they were
    assert visible(eb) == {"t_src:0", "t_src:1", "t_src:2"}
    assert visible(eb, "tea") == set()
    eb.index([fair("t_src:9", "Spice Fair")])  # no rebuild marker left behind
    assert visible(eb, "spice") == {"t_src:9"}


def test_swap_refused_when_aliases_moved_meanwhile(eb: ElasticBackend, es: Elasticsearch) -> None:
    eb.index(fairs(2))
    p = eb.prefix

    def meddling() -> Iterator[AnyRecord]:
        yield fair("t_src:x", "Tea Fair")
        # another process moves a kind alias while we load: our swap must not apply at all
        es.indices.update_aliases(
            actions=[{"remove": {"index": f"{p}-finance-v1", "alias": f"{p}-finance"}}]
        )

    with pytest.raises(SearchUnavailable, match="swapping aliases"):
        eb.rebuild(meddling())
    state = aliases(es, p)
    assert set(state) == {f"{p}-{k}-v1" for k in KINDS}  # the new indices are gone
    assert state[f"{p}-fair-v1"] == {f"{p}-fair", f"{p}-all"}
    assert visible(eb) == {"t_src:0", "t_src:1"}


def test_searches_keep_answering_and_writes_wait_during_rebuild(
    eb: ElasticBackend, es: Elasticsearch
) -> None:
    eb.index(fairs(3))
    seen: list[set[str]] = []
    refused: list[str] = []

    def loading() -> Iterator[AnyRecord]:
        for i, record in enumerate(fairs(6, "Tea Fair")):
            if i == 4:  # the new indices exist and hold part of the data
                seen.append(visible(eb))
                seen.append({str(eb.count())})
                with pytest.raises(SearchUnavailable, match="reindex is running") as exc:
                    eb.index([fair("t_src:late", "Late Fair")])
                refused.append(str(exc.value))
                with pytest.raises(SearchUnavailable, match="reindex is running"):
                    eb.delete(["t_src:0"])
                with pytest.raises(SearchUnavailable, match="another reindex"):
                    eb.rebuild([])
            yield record

    assert eb.rebuild(loading()) == 6
    assert seen == [{"t_src:0", "t_src:1", "t_src:2"}, {"3"}]  # the old indices answered
    assert refused
    assert visible(eb, "tea") == {f"t_src:{i}" for i in range(6)}
    eb.index([fair("t_src:late", "Late Fair")])  # after the swap writes go through
    assert visible(eb, "late") == {"t_src:late"}


def test_stale_rebuild_marker_is_ignored_and_cleaned(eb: ElasticBackend, es: Elasticsearch) -> None:
    eb.index(fairs(1))
    p = eb.prefix
    # what a rebuild killed mid-way leaves: an index with an old marker, behind no alias
    crashed = f"{p}-fair-v7"
    es.indices.create(index=crashed, aliases={f"{p}-building-{int(time.time()) - 7 * 3600}": {}})
    eb.index([fair("t_src:after", "Tea Fair")])  # stale marker: writes go on
    assert visible(eb, "tea") == {"t_src:after"}
    assert eb.rebuild(fairs(2)) == 2
    names = set(aliases(es, p))
    assert crashed not in names
    assert names == {f"{p}-{k}-v8" for k in KINDS}  # numbering continues past leftovers


def test_record_changing_kind_is_found_once(eb: ElasticBackend) -> None:
    eb.index([fair("t_src:k", "Coffee finance")])
    as_finance = {
        "id": "t_src:k",
        "kind": "finance",
        "title": "Coffee finance",
        "source_id": "t_src",
    }
    eb.index([parse_record(as_finance)])
    result = eb.search(SearchQuery(q="coffee"))
    assert result.total == 1 and result.items[0]["kind"] == "finance"
    assert eb.count() == 1


def test_indices_of_an_older_version_get_the_new_fields(
    eb: ElasticBackend, es: Elasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    """An index built before records had an indexed `language` (a strict mapping without it)
    keeps taking writes after an upgrade; only older documents lack the field until reindex."""
    p = eb.prefix
    for kind in KINDS:
        mappings = X.mappings(kind)
        del mappings["properties"]["language"]
        es.indices.create(
            index=f"{p}-{kind}-v1",
            settings=X.index_settings(),
            mappings=mappings,
            aliases={f"{p}-{kind}": {}, f"{p}-all": {}},
        )
    old = X.document(fair("t_src:old", "Old Coffee Fair", language="fr"))
    del old["language"]
    es.index(index=f"{p}-fair", id="t_src:old", document=old, refresh=True)
    with caplog.at_level("WARNING"):
        eb.index([fair("t_src:new", "New Coffee Fair", language="fr")])
    assert "run `tradepoint reindex`" in caplog.text and "language" in caplog.text
    by_language = {i["id"] for i in eb.search(SearchQuery(languages=("fr",))).items}
    assert by_language == {"t_src:new"}
    assert visible(eb, "coffee") == {"t_src:old", "t_src:new"}
    eb.rebuild([fair("t_src:old", "Old Coffee Fair", language="fr")])
    assert {i["id"] for i in eb.search(SearchQuery(languages=("fr",))).items} == {"t_src:old"}


def test_parse_state_ignores_other_prefixes() -> None:
    raw = {
        "tp-fair-v3": {"aliases": {"tp-fair": {}, "tp-all": {}}},
        "tp-fair-v4": {"aliases": {"tp-building-100": {}}},
        "tp-staging-fair-v1": {"aliases": {"tp-staging-fair": {}}},
        "tp-fair-old": {"aliases": {}},
    }
    state = parse_state("tp", raw)
    assert state.live == {"fair": "tp-fair-v3"}
    assert state.versions == {"tp-fair-v3": 3, "tp-fair-v4": 4}
    assert state.building == {"tp-fair-v4": 100}


# --------------------------------------------------------------------------- cluster down


def test_unreachable_cluster_raises_search_unavailable() -> None:
    b = ElasticBackend(dead_url(), prefix="tp-down", request_timeout=2)
    try:
        assert b.ping() is False
        for call in (
            lambda: b.index(fairs(1)),
            lambda: b.delete(["x"]),
            lambda: b.search(SearchQuery(q="coffee")),
            lambda: b.count(),
            lambda: b.rebuild(fairs(1)),
        ):
            with pytest.raises(SearchUnavailable, match="unreachable"):
                call()
    finally:
        b.close()


def test_outbox_keeps_changes_while_cluster_is_down(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server_url()
    prefix = unique_prefix()
    monkeypatch.setenv("TRADEPOINT_INDEX_PREFIX", prefix)
    monkeypatch.setenv("TRADEPOINT_ELASTICSEARCH_URL", dead_url())
    down_settings = Settings()
    assert backend_name(down_settings) == "elastic"
    down = create_backend(down_settings)
    assert isinstance(down, ElasticBackend)
    app = create_app(down_settings, store=store, backend=down, background_indexer=False)
    with TestClient(app) as client:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["status"] == "degraded"
        store.upsert_records(fairs(3))
        with pytest.raises(SearchUnavailable):
            drain_outbox(store, down)
        assert store.outbox_size() == 3  # nothing acknowledged, nothing lost
        resp = client.get("/api/v1/search", params={"q": "coffee"})
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "search_unavailable"
    down.close()

    monkeypatch.setenv("TRADEPOINT_ELASTICSEARCH_URL", url)
    up = create_backend(Settings())
    try:
        assert drain_outbox(store, up) == 3
        assert store.outbox_size() == 0
        assert visible(up, "coffee") == {f"t_src:{i}" for i in range(3)}
        store.upsert_records([fair("t_src:3")])
        assert reindex(store, up) == 4
        assert store.outbox_size() == 0
    finally:
        drop_indices(url, prefix)
        up.close()


def test_bad_settings_are_refused_clearly() -> None:
    with pytest.raises(TradepointError, match="TRADEPOINT_INDEX_PREFIX"):
        ElasticBackend("http://127.0.0.1:9200", prefix="Bad Prefix")
    with pytest.raises(TradepointError, match="TRADEPOINT_ELASTICSEARCH_URL"):
        ElasticBackend("not a url", prefix="tp")


# --------------------------------------------------------------------------- bulk retries


class _BusyProxy(BaseHTTPRequestHandler):
    """Forwards to the test server, but answers the first `busy` bulk requests the way a
    cluster with full write queues does: HTTP 200 with every item rejected (429)."""

    upstream = ""
    busy = 0
    reject_status = 429
    bulk_calls: list[str] = []  # noqa: RUF012 - replaced per test

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        if self.path.split("?")[0].endswith("/_bulk"):
            type(self).bulk_calls.append(self.path)
            if type(self).busy > 0:
                type(self).busy -= 1
                lines = [json.loads(x) for x in (data or b"").splitlines() if x.strip()]
                items = [
                    {
                        op: {
                            "_index": meta["_index"],
                            "_id": meta["_id"],
                            "status": type(self).reject_status,
                            "error": {"type": "es_rejected_execution_exception", "reason": "busy"},
                        }
                    }
                    for line in lines
                    for op, meta in line.items()
                    if op in ("index", "delete")
                ]
                self._answer(200, json.dumps({"errors": True, "took": 1, "items": items}).encode())
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
        req = urllib.request.Request(
            self.upstream + self.path, data=data, method=self.command, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                self._answer(resp.status, resp.read())
        except urllib.error.HTTPError as exc:
            self._answer(exc.code, exc.read())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


@pytest.fixture
def busy_proxy() -> Iterator[type[_BusyProxy]]:
    handler = type("Proxy", (_BusyProxy,), {"upstream": server_url(), "bulk_calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler
    server.shutdown()
    server.server_close()


def test_bulk_retries_rejected_items(busy_proxy: type[_BusyProxy]) -> None:
    prefix = unique_prefix()
    b = ElasticBackend(busy_proxy.url, prefix=prefix, retry_backoff=0.01)  # type: ignore[attr-defined]
    try:
        b.ping()  # creates the indices through the proxy
        busy_proxy.busy = 2
        b.index(fairs(2))
        assert len(busy_proxy.bulk_calls) == 3  # two rejected, then accepted
        assert visible(b) == {"t_src:0", "t_src:1"}
        busy_proxy.busy = 10  # busy for longer than the retries: the outbox keeps the change
        with pytest.raises(SearchUnavailable, match="429"):
            b.delete(["t_src:0"])
        assert visible(b) == {"t_src:0", "t_src:1"}
    finally:
        drop_indices(server_url(), prefix)
        b.close()


def test_bulk_does_not_retry_a_bad_document(busy_proxy: type[_BusyProxy]) -> None:
    prefix = unique_prefix()
    b = ElasticBackend(busy_proxy.url, prefix=prefix, retry_backoff=0.01)  # type: ignore[attr-defined]
    try:
        b.ping()
        busy_proxy.busy, busy_proxy.reject_status = 1, 400
        with pytest.raises(SearchUnavailable, match="rejected 3 of 3 bulk operations"):
            b.index(fairs(1))
        assert len(busy_proxy.bulk_calls) == 1
    finally:
        drop_indices(server_url(), prefix)
        b.close()
