"""The change feed (GET /api/v1/changes) and the bulk export (GET /api/v1/export): a partner that
loads an export and then follows the feed holds exactly the records of the system of record,
seeing every change once, in commit order, across restarts and reindexes."""

from __future__ import annotations

import csv
import gzip
import io
import threading
import time
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox, reindex
from search_api.services.changes import list_changes
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.changes import change, log_changes
from search_api.store.keys import create_key
from tests.helpers.factories import fair, parse_record

# Commit order and id order differ on PostgreSQL unless the change log takes its lock.
pytestmark = pytest.mark.databases("sqlite", "postgresql")


def requirement(id: str, **kw: Any) -> Any:
    data: dict[str, Any] = {
        "id": id,
        "kind": "requirement",
        "title": "Front-of-pack labelling",
        "source_id": "t_req",
        "markets": ["EU"],
        "requirement_type": "labelling",
        "comment_deadline": "2027-05-01",
        "effective_date": "2027-09-01",
    }
    data.update(kw)
    return parse_record(data)


def read_all(client: TestClient, since: str | None = None, **params: Any) -> tuple[list, str]:
    """Follow the feed from `since` until it says nothing more is waiting."""
    seen: list[dict[str, Any]] = []
    while True:
        query = {"limit": 2, **params, **({"since": since} if since else {})}
        body = client.get("/api/v1/changes", params=query).json()
        seen += body["changes"]
        since = body["next_cursor"]
        if not body["has_more"]:
            return seen, since


def test_created_changed_withdrawn_and_deleted_in_commit_order(
    client: TestClient, store: Store
) -> None:
    store.upsert_records([fair("t_src:a"), fair("t_src:b", title="Tea Expo")])
    store.upsert_records([fair("t_src:a", city="Mombasa", end_date="2027-03-13")])
    store.upsert_records([fair("t_src:b", title="Tea Expo")])  # unchanged: no entry
    assert store.mark_missing("t_src", {"t_src:a"}, withdraw_after=1) == 1
    store.upsert_records([fair("t_src:b", title="Tea Expo")])  # listed again
    changes, cursor = read_all(client)
    assert [(c["op"], c["record_id"], c["version"]) for c in changes] == [
        ("created", "t_src:a", 1),
        ("created", "t_src:b", 1),
        ("changed", "t_src:a", 2),
        ("withdrawn", "t_src:b", 2),
        ("changed", "t_src:b", 3),
    ]
    assert changes[2]["fields"] == ["city", "end_date"]
    assert changes[2]["record"]["city"] == "Mombasa"
    assert changes[3]["fields"] == ["withdrawn"] and changes[3]["deleted"] is False
    assert "record" not in changes[3]  # a tombstone
    assert changes[4]["fields"] == ["withdrawn"]
    # Nothing new: the same cursor comes back, and nothing is repeated.
    again = client.get("/api/v1/changes", params={"since": cursor}).json()
    assert again == {"changes": [], "next_cursor": cursor, "has_more": False}


def test_a_deleted_curated_record_is_a_tombstone(client: TestClient, store: Store) -> None:
    key = create_key(store, "agency_x", "agency")
    auth = {"Authorization": f"Bearer {key}"}
    body = {"kind": "fair", "slug": "expo", "title": "Curated Expo", "markets": ["GH"]}
    created = client.post("/api/v1/records", json=body, headers=auth)
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    start = client.get("/api/v1/changes").json()["next_cursor"]
    assert client.delete(f"/api/v1/records/{record_id}", headers=auth).status_code == 204
    [gone] = client.get("/api/v1/changes", params={"since": start}).json()["changes"]
    assert gone["op"] == "withdrawn" and gone["deleted"] is True
    assert gone["record_id"] == record_id and gone["version"] == 2


def test_the_cursor_survives_restarts_and_reindexes(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    store.upsert_records([fair(f"t_src:{i}") for i in range(5)])
    with TestClient(create_app(settings, store=store, backend=backend)) as c:
        first, cursor = read_all(c)
    assert len(first) == 5
    drain_outbox(store, backend)
    reindex(store, backend)  # rebuilding the index touches neither the feed nor the cursor
    store.upsert_records([fair("t_src:1", title="Renamed"), fair("t_src:9")])
    other = Store(settings.sqlalchemy_url)  # a new process: nothing kept in memory
    try:
        with TestClient(create_app(settings, store=other, backend=backend)) as c:
            later, _ = read_all(c, cursor)
    finally:
        other.close()
    assert [(c["op"], c["record_id"]) for c in later] == [
        ("changed", "t_src:1"),
        ("created", "t_src:9"),
    ]
    assert {c["cursor"] for c in first}.isdisjoint(c["cursor"] for c in later)


def test_a_kind_filter_moves_the_cursor_past_other_kinds(client: TestClient, store: Store) -> None:
    store.upsert_records([fair(f"t_src:{i}") for i in range(3)] + [requirement("t_req:1")])
    store.upsert_records([fair(f"t_src:{i}", city="Kisumu") for i in range(3)])
    only, cursor = read_all(client, kind="requirement")
    assert [c["record_id"] for c in only] == ["t_req:1"]
    store.upsert_records([fair("t_src:0", city="Nakuru")])
    body = client.get("/api/v1/changes", params={"since": cursor, "kind": "requirement"}).json()
    assert body["changes"] == [] and body["next_cursor"] != cursor


def test_ids_only_without_records(client: TestClient, store: Store) -> None:
    store.upsert_records([fair()])
    [c] = client.get("/api/v1/changes", params={"include_records": "false"}).json()["changes"]
    assert "record" not in c and c["record_id"] == "t_src:1"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"since": "not a cursor"}, "since:"),
        ({"since": "AQ"}, "since:"),
        ({"limit": "0"}, "limit"),
        ({"limit": "5000"}, "limit"),
        ({"kind": "boat"}, "kind"),
    ],
)
def test_bad_parameters_are_named(client: TestClient, params: dict, needle: str) -> None:
    r = client.get("/api/v1/changes", params=params)
    assert r.status_code in (400, 422)
    assert needle in r.json()["error"]["message"]


def test_a_cursor_ahead_of_the_feed_says_to_resync(client: TestClient, store: Store) -> None:
    from search_api.services.changes import encode_cursor

    store.upsert_records([fair()])
    r = client.get("/api/v1/changes", params={"since": encode_cursor(99)})
    assert r.status_code == 400 and "export" in r.json()["error"]["message"]


# --------------------------------------------------------------------------- export


def ndjson(body: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in body.splitlines() if line]


def test_export_streams_every_record_of_a_search(client: TestClient, store: Store) -> None:
    # More than one batch, and more than the search API would page to in one answer.
    records = [fair(f"t_src:{i:04d}", country="KE" if i % 2 else "GH") for i in range(2100)]
    store.upsert_records([*records, requirement("t_req:1")])
    r = client.get("/api/v1/export", params={"market": "KE"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    got = ndjson(r.content)
    assert [x["id"] for x in got] == sorted(f"t_src:{i:04d}" for i in range(1, 2100, 2))
    assert all(x["version"] == 1 and x["last_changed"] for x in got)
    everything = ndjson(client.get("/api/v1/export").content)
    assert len(everything) == 2101
    reqs = ndjson(client.get("/api/v1/export", params={"kind": "requirement"}).content)
    assert [x["id"] for x in reqs] == ["t_req:1"]


def test_export_leaves_withdrawn_records_out_unless_asked(client: TestClient, store: Store) -> None:
    store.upsert_records([fair("t_src:a"), fair("t_src:b")])
    store.mark_missing("t_src", {"t_src:a"}, withdraw_after=1)
    assert [x["id"] for x in ndjson(client.get("/api/v1/export").content)] == ["t_src:a"]
    asked = ndjson(client.get("/api/v1/export", params={"status": "withdrawn"}).content)
    assert {x["id"]: x["withdrawn"] for x in asked} == {"t_src:a": False, "t_src:b": True}


def test_export_is_gzipped_when_asked(client: TestClient, store: Store) -> None:
    store.upsert_records([fair(f"t_src:{i}") for i in range(300)])
    raw = client.get(
        "/api/v1/export", headers={"Accept-Encoding": "gzip"}, params={"format": "ndjson"}
    )
    assert raw.headers["content-encoding"] == "gzip"
    # httpx decoded it; the bytes on the wire were a real gzip stream of the same lines.
    assert len(ndjson(raw.content)) == 300
    with client.stream("GET", "/api/v1/export", headers={"Accept-Encoding": "gzip"}) as s:
        wire = b"".join(s.iter_raw())
    assert len(ndjson(gzip.decompress(wire))) == 300
    assert len(wire) < len(raw.content) / 5
    plain = client.get("/api/v1/export", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_export_csv_has_a_column_per_field_and_defuses_formulas(
    client: TestClient, store: Store
) -> None:
    store.upsert_records(
        [
            fair("t_src:1", title='=HYPERLINK("http://evil")', sectors=["food", "beverages"]),
            requirement("t_req:1", markets=["DE", "FR"]),
        ]
    )
    r = client.get("/api/v1/export", params={"format": "csv"})
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    by_id = {row["id"]: row for row in rows}
    assert by_id["t_src:1"]["title"] == '\'=HYPERLINK("http://evil")'
    assert by_id["t_src:1"]["sectors"] == "food; beverages"
    assert by_id["t_src:1"]["version"] == "1" and by_id["t_src:1"]["last_changed"]
    assert by_id["t_req:1"]["markets"] == "DE; FR"
    assert by_id["t_req:1"]["comment_deadline"] == "2027-05-01"
    assert "provider.name" in rows[0] and "text" not in rows[0]


def test_export_refuses_bad_parameters(client: TestClient) -> None:
    assert client.get("/api/v1/export", params={"format": "xml"}).status_code == 422
    r = client.get("/api/v1/export", params={"market": "Atlantis"})
    assert r.status_code == 400 and "market" in r.json()["error"]["message"]


# --------------------------------------------------------------------------- a partner's sync


def test_a_partner_mirror_stays_equal_to_the_store(client: TestClient, store: Store) -> None:
    """The README's sync loop: export once, then apply changes from the export's cursor."""
    store.upsert_records([fair(f"t_src:{i}") for i in range(20)])
    r = client.get("/api/v1/export", params={"status": "withdrawn"})
    mirror = {x["id"]: x for x in ndjson(r.content)}
    cursor = r.headers["x-changes-cursor"]
    # Writes after the export: changes, a new record, a withdrawal.
    store.upsert_records([fair("t_src:3", city="Eldoret"), fair("t_src:99")])
    store.mark_missing("t_src", {f"t_src:{i}" for i in range(20) if i != 7} | {"t_src:99"}, 1)
    changes, cursor = read_all(client, cursor)
    for c in changes:
        if c["op"] == "withdrawn":
            mirror[c["record_id"]]["withdrawn"] = True
        elif c["record"] is not None:
            mirror[c["record_id"]] = c["record"]
    truth = {r.id: r.model_dump(mode="json") for r in store.iter_records()}
    assert {k: v["withdrawn"] for k, v in mirror.items()} == {
        k: v["withdrawn"] for k, v in truth.items()
    }
    assert mirror["t_src:3"]["city"] == "Eldoret" and mirror["t_src:7"]["withdrawn"]


# --------------------------------------------------------------------------- concurrency


def test_a_later_writer_waits_for_an_earlier_one_to_commit(store: Store) -> None:
    """The case that loses changes with plain autoincrement ids: transaction A takes its id,
    B takes a later one and commits first. Here B cannot take its id before A commits, so a
    reader never sees B's change without A's."""
    conn = store.engine.connect()
    tx = conn.begin()
    log_changes(conn, [change("t_src:a", "fair", "created", 1, _now())])
    done = threading.Event()

    def writer_b() -> None:
        store.upsert_records([fair("t_src:b")])
        done.set()

    thread = threading.Thread(target=writer_b)
    thread.start()
    time.sleep(1.0)
    assert not done.is_set()  # B waits for A
    assert list_changes(store, None)["changes"] == []
    tx.commit()
    conn.close()
    thread.join(30)
    assert done.is_set()
    seen = list_changes(store, None)["changes"]
    assert [c["record_id"] for c in seen] == ["t_src:a", "t_src:b"]


def _now() -> Any:
    from search_api.store.base import utcnow

    return utcnow()


def test_concurrent_writers_and_a_polling_reader_see_every_change_once(store: Store) -> None:
    writers, per_writer = 4, 15
    stop = threading.Event()
    read: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(per_writer):
                store.upsert_records([fair(f"t_src:w{n}-{i}"), fair(f"t_src:w{n}-{i}b")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def poll() -> None:
        cursor = None
        while True:
            finished = stop.is_set()
            body = list_changes(store, cursor, limit=7, include_records=False)
            read.extend(body["changes"])
            cursor = body["next_cursor"]
            if finished and not body["has_more"]:
                return

    reader = threading.Thread(target=poll)
    reader.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    reader.join(120)
    assert not errors
    ids = [c["record_id"] for c in read]
    assert len(ids) == len(set(ids)) == writers * per_writer * 2
    cursors = [c["cursor"] for c in read]
    assert len(set(cursors)) == len(cursors)
