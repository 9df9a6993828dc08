"""Records read back from the store are not cleaned again (`load_stored_record`): what the store
holds was cleaned when it was written, and migration 0011 cleaned the rows written before
cleaning existed.

- every write path (the records API, a crawl of a curated file, a re-crawl that changes
  nothing, a withdrawal, the store's own upsert) stores cleaned text from hostile input, and
  reading it back without cleaning gives the same record as with it (the `store` fixture also
  checks the stored text after every test of the suite: tests/helpers/stored.py);
- the migration cleans old dirty rows to what reading them made of them, and touches nothing
  else;
- the index gets the same documents either way;
- the cleaning rules are those the migration applied: changing them needs a new migration.
"""

from __future__ import annotations

import importlib
import json
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.pool import NullPool

from bench.generate import record_dict
from search_api.domain.records import (
    RECORD_ADAPTER,
    clean_string,
    clean_strings,
    load_stored_record,
    parse_record,
)
from search_api.search.tantivy.schema import to_document
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from search_api.store.migrations import alembic_config
from search_api.store.tables import OutboxRow, RecordRow
from tests.helpers.catalogue import FILES, load
from tests.helpers.formats import crawl, make_spec
from tests.helpers.stored import unclean_rows

# Everything clean_string removes or replaces, with text around it.
HOSTILE = "Day\u0000 one\u0007 \u202eevil\u202c \u200bhid\u200cden\u2066 \ufeffx\x7f\x85y"
BREAKS = "first\r\nsecond\rthird\nfourth\tfifth\u2028sixth\u2029seventh\x0bv\x0cf"
OLD_REVISION = "0010_i16e_undated_fair_status"


def stored_json(store: Store) -> dict[str, str]:
    return {rid: data for batch in store.iter_record_json() for rid, data in batch}


def assert_clean_and_read_alike(store: Store, at_least: int) -> None:
    """Every stored row is clean, and reads the same without the cleaning as with it."""
    rows = stored_json(store)
    assert len(rows) >= at_least
    assert unclean_rows(store) == []
    for data in rows.values():
        assert load_stored_record(data) == RECORD_ADAPTER.validate_json(data)
    # the hostile input did reach the store, cleaned
    assert any("Day one" in data for data in rows.values())


def bearer(store: Store, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(store, name, 'agency')}"}


def test_the_records_api_stores_clean_text(client: TestClient, store: Store) -> None:
    headers = bearer(store, "agency_a")
    fair = {
        "kind": "fair",
        "slug": "hostile",
        "title": f"Coffee {HOSTILE}",
        "summary": f"{HOSTILE} {BREAKS}",
        "text": BREAKS,
        "city": f"Nai{BREAKS}robi",
        "venue": HOSTILE,
        "organiser": HOSTILE,
        "country": "KE",
        "start_date": "2027-03-10",
    }
    assert client.post("/api/v1/records", json=fair, headers=headers).status_code == 201
    finance = {
        "kind": "finance",
        "slug": "hostile-finance",
        "title": f"Cover {HOSTILE}",
        "provider": {"name": f"Agency {HOSTILE}{BREAKS}", "type": "eca"},
        "instruments": ["credit_insurance"],
    }
    assert client.post("/api/v1/records", json=finance, headers=headers).status_code == 201
    r = client.patch(
        "/api/v1/records/curated_agency_a:hostile",
        json={"summary": f"changed {HOSTILE}{BREAKS}", "venue": BREAKS},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert_clean_and_read_alike(store, 2)
    record = store.get_record("curated_agency_a:hostile")
    assert record is not None and record.summary is not None
    assert record.title == "Coffee Day one evil hidden xy"
    assert record.summary.startswith("changed Day one evil hidden xy")
    assert "first\nsecond\nthird\nfourth\tfifth\u2028sixth" in record.summary
    assert getattr(record, "venue", None) == "first second third fourth fifth sixth seventhvf"


@pytest.mark.crawl
def test_crawls_store_clean_text_also_when_nothing_changed_or_a_record_goes(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    def write(records: list[dict[str, Any]]) -> None:
        (tmp_path / "fairs.yml").write_text(
            # escaped: a YAML file may not hold these characters raw
            json.dumps({"records": records}),
            encoding="utf-8",
        )

    hostile = [
        {
            "id": f"f{i}",
            "title": f"Fair {i} {HOSTILE}",
            "summary": f"{HOSTILE}{BREAKS}",
            "city": BREAKS,
            "organiser": HOSTILE,
            "country": "KE",
            "usual_month": 3,
        }
        for i in range(3)
    ]
    write(hostile)
    spec = make_spec(
        id="xa_hostile",
        kind="fair",
        format="curated",
        start_urls=[(tmp_path / "fairs.yml").as_uri()],
        withdraw_after_misses=1,
    )
    assert crawl(settings, store, spec).ok
    assert_clean_and_read_alike(store, 3)

    outcome = crawl(settings, store, spec)  # unchanged: the stored JSON is rewritten (last_seen)
    assert outcome.ok
    assert store.get_run(outcome.run_id).items_unchanged == 3
    assert_clean_and_read_alike(store, 3)

    write(hostile[:1])  # two records gone: withdrawn, their JSON rewritten
    assert crawl(settings, store, spec).ok
    withdrawn = [r for r in store.iter_records() if r.withdrawn]
    assert len(withdrawn) == 2
    assert_clean_and_read_alike(store, 3)


def test_the_stores_own_writes_store_clean_text(store: Store) -> None:
    rng = random.Random(3)
    records = []
    for i in range(200):
        data = record_dict(i, rng)
        for field in ("title", "summary", "city", "authority", "legal_reference"):
            if field in data or field == "summary":
                data[field] = f"{data.get(field, '')} {rng.choice((HOSTILE, BREAKS, ''))}"
        if "provider" in data:
            data["provider"]["name"] += HOSTILE
        records.append(parse_record(data))
    store.upsert_records(records)
    store.upsert_records(records[:50])  # unchanged
    changed = [r.model_copy(update={"version": 1}) for r in records[50:60]]
    store.upsert_records(
        [parse_record({**r.model_dump(), "title": r.title + HOSTILE}) for r in changed]
    )
    store.delete_record(records[0].id)
    assert_clean_and_read_alike(store, 199)
    # the indexer's reads: the same records as validating them with the cleaning
    ids = [r.id for r in records]
    rows = stored_json(store)
    assert store.get_records(ids) == {
        rid: RECORD_ADAPTER.validate_json(data) for rid, data in rows.items()
    }


def test_the_index_gets_the_same_documents_either_way(store: Store) -> None:
    rng = random.Random(5)
    records = [r for stem in FILES for r in load(stem)]
    records += [parse_record(record_dict(i, rng)) for i in range(300)]
    store.upsert_records(records)
    rows = stored_json(store)
    assert len(rows) == len({r.id for r in records})
    for data in rows.values():
        trusted = to_document(load_stored_record(data)).to_dict()
        assert trusted == to_document(RECORD_ADAPTER.validate_json(data)).to_dict()
        # the stored document is the record's JSON as the API serves it
        record = load_stored_record(data)
        assert trusted["doc"] == [record.model_dump_json().encode()]


# --------------------------------------------------------------------------- the migration


def dirty_row(record_id: str, **fields: Any) -> dict[str, Any]:
    """A row as code from before issue 13 could store it: text not cleaned."""
    data = {
        "id": record_id,
        "kind": "fair",
        "title": "Fair",
        "source_id": "old_src",
        "country": "KE",
        "markets": ["KE"],
        "usual_month": 3,
        "first_seen": "2026-01-01T00:00:00",
        "last_seen": "2026-01-01T00:00:00",
        "last_changed": "2026-01-01T00:00:00",
        "content_hash": "0" * 32,
        "version": 3,
        **fields,
    }
    return {
        "id": record_id,
        "kind": "fair",
        "source_id": "old_src",
        "data": json.dumps(data, ensure_ascii=False),
        "content_hash": "0" * 32,
        "first_seen": datetime(2026, 1, 1),
        "last_seen": datetime(2026, 1, 1),
        "last_changed": datetime(2026, 1, 1),
        "withdrawn": False,
        "missing_runs": 0,
        "version": 3,
    }


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_the_migration_cleans_old_rows_as_reading_them_did(old_database: str) -> None:
    url = old_database
    engine = create_engine(url, poolclass=NullPool)
    old = [
        dirty_row("old_src:title", title=f"Fair {HOSTILE}"),
        dirty_row("old_src:texts", summary=f"{HOSTILE}{BREAKS}", text=BREAKS, city=BREAKS),
        dirty_row("old_src:escaped", title="Fair\u200b", organiser="A\u0000B"),
        dirty_row(
            "old_src:finance",
            kind="finance",
            provider={"name": f"Bank{HOSTILE}", "type": "eca"},
            country=None,
            usual_month=None,
            markets=[],
        ),
        # nothing to clean: left byte for byte
        dirty_row("old_src:lines", summary="one\ntwo\tthree", title="Café"),
        dirty_row("old_src:plain"),
        # not the migration's business: a URL is refused, never cleaned; broken JSON stays
        dirty_row("old_src:url", url="https://example.org/a\nb"),
        {**dirty_row("old_src:broken"), "data": "{not json"},
    ]
    # the escaped row written as ASCII-escaped JSON, as json.dumps does by default
    old[2]["data"] = json.dumps(json.loads(old[2]["data"]))
    old[3]["data"] = json.dumps(
        {k: v for k, v in json.loads(old[3]["data"]).items() if v is not None}
    )
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), OLD_REVISION)
        conn.execute(insert(RecordRow.__table__), old)
    store = Store(url)
    try:
        assert store.migrate() == "upgraded"
        now = stored_json(store)
        before = {row["id"]: row["data"] for row in old}
        dirty = {"old_src:title", "old_src:texts", "old_src:escaped", "old_src:finance"}
        for rid in dirty:
            assert now[rid] != before[rid]
            # what every read made of the old row, now read without cleaning
            assert load_stored_record(now[rid]) == RECORD_ADAPTER.validate_json(before[rid])
            data = json.loads(now[rid])
            assert clean_strings(data) == data
        for rid in set(before) - dirty:
            assert now[rid] == before[rid]
        assert unclean_rows(store) == []
        with engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(RecordRow.__table__))}
            assert conn.scalar(select(func.count()).select_from(OutboxRow)) == 0
        for row in old:  # no change for the change feed, the next crawl or the index
            assert (rows[row["id"]].content_hash, rows[row["id"]].version) == (
                row["content_hash"],
                row["version"],
            )
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), OLD_REVISION)
        assert stored_json(store) == now
    finally:
        store.close()
        engine.dispose()


# --------------------------------------------------------------------------- the rules

# Migration 0011 cleaned the stored rows by its own copy of the rules; readers trust those rows.
# If these tests fail, the rules changed: add a migration that cleans the stored rows again
# under the new rules (as 0011 does).
MIGRATION = importlib.import_module(
    "search_api.store.migrations.versions.0011_ing7_clean_stored_text"
)


@pytest.mark.parametrize("multiline", [False, True])
def test_the_cleaning_rules_are_those_the_stored_rows_were_cleaned_by(multiline: bool) -> None:
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    for text in (every_character, "a\r\nb\rc\n\rd", HOSTILE + BREAKS):
        cleaned = clean_string(text, multiline=multiline)
        assert cleaned == MIGRATION.clean_text(text, multiline=multiline), (
            "clean_string changed: the stored rows need cleaning again (see migration 0011)"
        )
    assert len(clean_string(every_character)) < len(every_character)


def test_the_migration_cleans_every_field_as_the_model_does() -> None:
    rng = random.Random(9)
    for i in range(300):
        data: dict[str, Any] = record_dict(i, rng)
        for field in ("title", "summary", "text", "city", "url", "venue"):
            data[field] = rng.choice((HOSTILE, BREAKS, "plain", "https://x.org/\u200b"))
        if "provider" in data:
            data["provider"]["name"] += rng.choice((HOSTILE, BREAKS))
        data["eligible_exporter_countries"] = [rng.choice(("KE", "K\u200bE", "GH\n"))]
        assert MIGRATION.clean_record(data) == clean_strings(data)
    # its search of the JSON text misses no row that needs cleaning, whatever the escaping
    changed = [ch for ch in map(chr, range(sys.maxunicode + 1)) if clean_string(ch) != ch]
    assert len(changed) > 70
    for ch in [*changed, HOSTILE, BREAKS]:
        for data in ({"title": f"a{ch}b"}, {"summary": f"a{ch}b"}):
            if clean_strings(data) == data:
                continue  # a line break in a multi-line field
            for text in (json.dumps(data), json.dumps(data, ensure_ascii=False)):
                assert MIGRATION.cleaned(text) == json.dumps(
                    clean_strings(data), ensure_ascii=False, separators=(",", ":")
                )
