"""Issue 16: a fair series without known next dates is not "scheduled", in the API either.

Its `status` is null wherever a record is served (search, record, market overview, fairs,
export, change feed), dated fairs keep "scheduled"; a client sending back what it read
succeeds; and records stored while such series were "scheduled" (the rows of
tests/fixtures/stored/, written by the code before this change) re-ingest as unchanged: no
spurious change reaches the change feed, digests or webhooks."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select
from sqlalchemy.pool import NullPool

from schedules.digests import diff
from search_api.domain.records import PROVENANCE_FIELDS, FairRecord, parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from search_api.store.keys import create_key
from search_api.store.migrations import alembic_config
from search_api.store.subscriptions import Snapshot, snapshot_of
from search_api.store.tables import OutboxRow, RecordRow
from tests.helpers.catalogue import FILES, load
from tests.helpers.factories import fair

STORED = Path(__file__).parent / "fixtures" / "stored" / "fairs_before_0010.json"
OLD_REVISION = "0009_agency_sessions"


def old_rows() -> list[dict[str, Any]]:
    return json.loads(STORED.read_text(encoding="utf-8"))["records"]


def store_the_old_way(store: Store) -> list[dict[str, Any]]:
    """The fixture's rows written into `store` as they are (no model in between)."""
    rows = old_rows()
    with store.engine.begin() as conn:
        conn.execute(insert(RecordRow.__table__), [_row(r) for r in rows])
    return rows


def _row(r: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(r["data"])
    stamp = {
        k: datetime.fromisoformat(data[k]) for k in ("first_seen", "last_seen", "last_changed")
    }
    return {**r, **stamp, "withdrawn": False, "missing_runs": 0}


def as_read_again(rows: list[dict[str, Any]], *, silent: bool) -> list[FairRecord]:
    """What the source says of each stored record, as a re-crawl reads it: `silent` drops
    the stored "scheduled" of a series (a curated file says no status), else it is repeated
    (a client sending back what it read before, a page saying EventScheduled)."""
    out = []
    for r in rows:
        data = {k: v for k, v in json.loads(r["data"]).items() if k not in PROVENANCE_FIELDS}
        if silent and data.get("start_date") is None:
            data.pop("status", None)
        record = parse_record(data)
        assert isinstance(record, FairRecord)
        out.append(record)
    return out


def test_the_fixture_is_what_the_old_code_stored() -> None:
    rows = old_rows()
    undated = [json.loads(r["data"]) for r in rows if '"start_date":null' in r["data"]]
    assert len(undated) == 10 and {d["status"] for d in undated} == {"scheduled"}


# --------------------------------------------------------------------------- the model


def test_a_series_has_no_status_and_a_dated_fair_is_scheduled() -> None:
    series = fair(start_date=None, end_date=None, usual_month=6)
    assert series.status is None
    assert fair(start_date=None, end_date=None, status="scheduled").status is None
    assert fair(status=None).status == "scheduled"  # a dated fair
    assert fair().status == "scheduled"
    # what a source says stands, dates or not: postponed means new dates are not known yet
    assert fair(start_date=None, end_date=None, status="postponed").status == "postponed"
    assert fair(start_date=None, end_date=None, status="cancelled").status == "cancelled"
    assert fair(status="cancelled").status == "cancelled"


def test_a_series_hashes_as_it_did_when_it_was_scheduled() -> None:
    for row, record in zip(old_rows(), as_read_again(old_rows(), silent=True), strict=True):
        assert record.content_fingerprint() == row["content_hash"], row["id"]


# --------------------------------------------------------------------------- re-ingesting


@pytest.mark.databases("sqlite", "postgresql")
@pytest.mark.parametrize("silent", [True, False], ids=["source-silent", "sent-back"])
def test_records_stored_the_old_way_re_ingest_unchanged(store: Store, silent: bool) -> None:
    rows = store_the_old_way(store)
    cursor = store.last_change_id()
    stats = store.upsert_records(as_read_again(rows, silent=silent))
    assert (stats.new, stats.changed, stats.unchanged) == (0, 0, len(rows))
    assert store.changes_after(cursor, 100) == []  # nothing for the feed or webhooks
    assert store.outbox_size() == 0  # nor for the index
    for row in rows:
        record = store.get_record(row["id"])
        assert record is not None
        assert (record.version, record.content_hash) == (row["version"], row["content_hash"])
        assert record.status == (None if record.start_date is None else "scheduled")


@pytest.mark.databases("sqlite", "postgresql")
def test_a_real_change_to_an_old_series_names_only_what_changed(store: Store) -> None:
    rows = store_the_old_way(store)
    cursor = store.last_change_id()
    series = next(r for r in as_read_again(rows, silent=True) if r.start_date is None)
    renamed = series.model_copy(update={"title": series.title + " (renamed)"})
    assert store.upsert_records([renamed]).changed == 1
    [change] = store.changes_after(cursor, 100)
    assert change.fields == ["title"]


def test_digests_see_no_change_in_an_old_series_and_no_status_in_a_real_one() -> None:
    rows = old_rows()
    records = as_read_again(rows, silent=True)
    for row, record in zip(rows, records, strict=True):
        stored = parse_record(json.loads(row["data"]))
        assert stored.status == record.status
    # the snapshots a digest kept of them, taken when series said "scheduled"
    sent = {}
    for row in rows:
        data = json.loads(row["data"])
        snap = snapshot_of(parse_record(data))
        sent[row["id"]] = Snapshot(**{**snap.to_json(), "status": data["status"]})
    assert any(s.status == "scheduled" and s.start_date is None for s in sent.values())
    stored = [parse_record(json.loads(r["data"])) for r in rows]
    entries, _ = diff(stored, sent, lambda ids: {}, lambda rid: rid)
    assert entries == []
    series = next(r for r in stored if r.start_date is None)
    moved = series.model_copy(update={"city": "Elsewhere", "version": series.version + 1})
    entries, _ = diff([moved], sent, lambda ids: {}, lambda rid: rid)
    assert [c["field"] for c in entries[0]["changes"]] == ["city"]


# --------------------------------------------------------------------------- the migration


def test_the_migration_rewrites_old_series_without_changing_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), OLD_REVISION)
        conn.execute(insert(RecordRow.__table__), [_row(r) for r in old_rows()])
    store = Store(url)
    try:
        assert store.migrate() == "upgraded"
        with engine.connect() as conn:
            stored = {r.id: r for r in conn.execute(select(RecordRow.__table__))}
            queued = set(conn.scalars(select(OutboxRow.record_id)))
        for row in old_rows():
            now = stored[row["id"]]
            data = json.loads(now.data)
            undated = data["start_date"] is None
            assert data["status"] == (None if undated else "scheduled")
            assert (now.content_hash, now.version) == (row["content_hash"], row["version"])
            assert (row["id"] in queued) == undated  # the index gets the new JSON
            # everything else as it was
            before = json.loads(row["data"])
            assert {k: v for k, v in data.items() if k != "status"} == {
                k: v for k, v in before.items() if k != "status"
            }
        stats = store.upsert_records(as_read_again(old_rows(), silent=True))
        assert (stats.changed, stats.unchanged) == (0, len(old_rows()))
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), OLD_REVISION)
        with engine.connect() as conn:
            back = {r.id: json.loads(r.data) for r in conn.execute(select(RecordRow.__table__))}
        assert all(back[r["id"]]["status"] == "scheduled" for r in old_rows())
    finally:
        store.close()
        engine.dispose()


# --------------------------------------------------------------------------- the API


@pytest.fixture
def catalogue(store: Store, backend: SearchBackend) -> list[Any]:
    records = [r for stem in FILES for r in load(stem)]
    store.upsert_records(records)
    drain_outbox(store, backend)
    return records


def _check(item: dict[str, Any]) -> None:
    if item.get("kind") != "fair":
        return
    if item.get("start_date") is None:
        assert item["status"] in (None, "postponed", "cancelled", "moved_online"), item["id"]
    else:
        assert item["status"] is not None, item["id"]


def test_every_api_answer_gives_a_series_no_status(
    client: TestClient, catalogue: list[Any]
) -> None:
    undated = [r for r in catalogue if r.kind == "fair" and r.start_date is None]
    dated = [r for r in catalogue if r.kind == "fair" and r.start_date is not None]
    assert len(undated) > 20 and dated
    series = undated[0]

    found = client.get("/api/v1/search", params={"kind": "fair", "size": 100}).json()
    assert len(found["items"]) == len(undated) + len(dated)
    by_id = {i["id"]: i for i in found["items"]}
    assert all(by_id[r.id]["status"] is None for r in undated)
    assert all(by_id[r.id]["status"] == "scheduled" for r in dated)

    record = client.get(f"/api/v1/records/{series.id}").json()
    assert record["status"] is None and record["start_date"] is None

    overview = client.get(f"/api/v1/markets/{series.country}").json()
    listed = [f for f in overview["fairs"] if f["id"] == series.id]
    assert listed and listed[0]["status"] is None
    for code in ("DE", "FR", "US", "AE", "CN"):
        for item in client.get(f"/api/v1/markets/{code}").json()["fairs"]:
            _check(item)

    lines = client.get("/api/v1/export", params={"format": "ndjson", "kind": "fair"}).text
    exported = {d["id"]: d for d in map(json.loads, lines.splitlines())}
    assert exported[series.id]["status"] is None
    assert all(exported[r.id]["status"] == "scheduled" for r in dated)
    sheet = client.get("/api/v1/export", params={"format": "csv", "kind": "fair"}).text
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(sheet.lstrip("\ufeff")))}
    assert rows[series.id]["status"] == "" and rows[dated[0].id]["status"] == "scheduled"

    feed = client.get("/api/v1/changes", params={"kind": "fair", "limit": 1000}).json()
    for c in feed["changes"]:
        _check(c["record"])
    assert any(c["record"]["id"] == series.id for c in feed["changes"])


def test_the_status_filter_and_facet_are_as_before(
    client: TestClient, catalogue: list[Any]
) -> None:
    dated = {r.id for r in catalogue if r.kind == "fair" and r.start_date is not None}
    body = client.get(
        "/api/v1/search", params={"kind": "fair", "status": "scheduled", "size": 100}
    ).json()
    assert {i["id"] for i in body["items"]} == dated
    facet = {
        f["value"]: f["count"]
        for f in client.get("/api/v1/search", params={"kind": "fair", "size": 0}).json()["facets"][
            "status"
        ]
    }
    assert facet == {"scheduled": len(dated)}


SERIES = {
    "kind": "fair",
    "slug": "coffee-days",
    "title": "Nairobi Coffee Days",
    "country": "KE",
    "city": "Nairobi",
    "usual_month": 6,
    "frequency": "annual",
    "sectors": ["coffee_tea_cocoa"],
}
SERVER_FIELDS = PROVENANCE_FIELDS | {"id", "source_id", "source_url", "curated_by"}


def test_a_client_sends_back_what_it_read(client: TestClient, store: Store) -> None:
    auth = {"Authorization": f"Bearer {create_key(store, 'agency_a', 'agency')}"}
    made = client.post("/api/v1/records", json=SERIES, headers=auth)
    assert made.status_code == 201, made.text
    record_id = made.json()["id"]
    read = client.get(f"/api/v1/records/{record_id}").json()
    assert read["status"] is None
    body = {k: v for k, v in read.items() if k not in SERVER_FIELDS | {"official_page"}}
    assert "status" in body

    # PATCH with everything it read: accepted, and nothing changed
    again = client.patch(f"/api/v1/records/{record_id}", json=body, headers=auth)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == read["version"] == 1
    # POST of a copy, and of one saying "scheduled" as older answers did
    copy = client.post("/api/v1/records", json={**body, "slug": "copy"}, headers=auth)
    assert copy.status_code == 201 and copy.json()["status"] is None
    old = {**body, "slug": "old-style", "status": "scheduled"}
    assert client.post("/api/v1/records", json=old, headers=auth).json()["status"] is None

    # dates announced: the fair is scheduled; postponed stays postponed without dates
    dated = client.patch(
        f"/api/v1/records/{record_id}",
        json={"start_date": "2027-06-08", "end_date": "2027-06-10", "status": None},
        headers=auth,
    )
    assert dated.json()["status"] == "scheduled"
    postponed = client.patch(
        f"/api/v1/records/{record_id}",
        json={"start_date": None, "end_date": None, "status": "postponed"},
        headers=auth,
    )
    assert postponed.json()["status"] == "postponed"
    bad = client.patch(f"/api/v1/records/{record_id}", json={"status": "maybe"}, headers=auth)
    assert bad.status_code == 422 and "status" in bad.json()["error"]["message"]
