"""Class: numbers that are not numbers. Non-finite or absurd values are refused at every entry
(API, web form, curated file, crawled value), and one bad stored row never blocks indexing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from search_api.domain.sources import parse_source
from search_api.search.base import SearchBackend, SearchQuery
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from search_api.store.tables import OutboxRow, RecordRow
from tests.helpers.agency import sign_in, token
from tests.helpers.factories import fair
from tests.helpers.formats import crawl, errors_of, records_of

# Crawls of fixture files and sites (tests/helpers/crawling.py runs them here).
pytestmark = pytest.mark.crawl

BIG = "9" * 400


@pytest.fixture
def agency(store: Store) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(store, 'agency_a', 'agency')}"}


def finance(**amount: Any) -> dict[str, Any]:
    return {"kind": "finance", "slug": "big-exponent", "title": "x", "max_amount": amount}


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(finance(value=1e300, currency="USD")).replace("1e+300", "1e400"),
        '{"kind":"finance","slug":"inf","title":"x","max_amount":{"value":Infinity,"currency":"USD"}}',
        '{"kind":"finance","slug":"nan","title":"x","max_amount":{"value":NaN,"currency":"USD"}}',
        json.dumps(finance(value=1e16, currency="USD")),
        '{"kind":"finance","slug":"pct","title":"x","coverage_pct_max":1e400}',
        '{"kind":"fair","slug":"stats","title":"x","stats":{"visitors":1e400}}',
        '{"kind":"finance","slug":"tenor","title":"x","tenor_max_days":' + BIG + "}",
    ],
)
def test_the_api_refuses_non_finite_and_absurd_numbers(
    client: TestClient, agency: dict[str, str], store: Store, body: str
) -> None:
    r = client.post(
        "/api/v1/records", content=body, headers={**agency, "content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_parameter"
    assert store.count_records() == 0


def test_the_record_form_refuses_inf(client: TestClient, store: Store) -> None:
    sign_in(client, create_key(store, "agency_a", "agency"))
    r = client.post(
        "/agency/records/new",
        data={
            "csrf_token": token(client, "/agency/records/new?kind=finance"),
            "kind": "finance",
            "title": "Infinite guarantee",
            "max_amount.value": "inf",
            "max_amount.currency": "USD",
        },
    )
    assert 400 <= r.status_code < 500
    assert "max_amount" in r.text
    assert store.count_records() == 0


def test_a_crawled_400_digit_amount_is_an_error_naming_the_row_and_field(
    settings: Settings, store: Store, backend: SearchBackend, tmp_path: Path
) -> None:
    from tests.helpers.sites import serve_copy

    with serve_copy("table", tmp_path) as site:
        (Path(site.root) / "big.csv").write_text(
            "title,max_amount,instruments\n"
            f"Big guarantee,USD {BIG},credit_guarantee\n"
            "Normal guarantee,USD 50000,credit_guarantee\n"
        )
        spec = parse_source(
            {
                "id": "xx_big",
                "name": "Big",
                "kind": "finance",
                "format": "table",
                "start_urls": [site.url("big.csv")],
            }
        )
        outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    records = records_of(store, "xx_big")
    assert records["Big guarantee"].max_amount is None  # left out, the record kept
    assert records["Normal guarantee"].max_amount is not None
    errors = [e["message"] for e in errors_of(store, outcome)]
    assert any("max_amount" in m and "999" in m for m in errors), errors
    assert drain_outbox(store, backend) > 0


def test_a_curated_file_with_inf_fails_that_record_only(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "finance.yml"
    path.write_text(
        "records:\n"
        "  - {id: inf, kind: finance, title: Infinite, max_amount: {value: .inf, currency: USD}}\n"
        "  - {id: ok, kind: finance, title: Finite, max_amount: {value: 1000, currency: USD}}\n"
    )
    spec = parse_source(
        {
            "id": "xx_curated_inf",
            "name": "c",
            "kind": "finance",
            "format": "curated",
            "start_urls": [path.as_uri()],
        }
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok
    assert set(records_of(store, "xx_curated_inf")) == {"Finite"}
    assert any("max_amount" in e["message"] for e in errors_of(store, outcome))


def _store_broken_row(
    store: Store, record_id: str, source_id: str, data: str, kind: str = "finance"
) -> None:
    """What an older version (or a hand edit) may have left in the database."""
    now = fair().first_seen
    with store.engine.begin() as conn:
        conn.execute(
            insert(RecordRow.__table__).values(
                id=record_id,
                kind=kind,
                source_id=source_id,
                data=data,
                content_hash="x",
                first_seen=now or store_now(),
                last_seen=store_now(),
                last_changed=store_now(),
                withdrawn=False,
                version=1,
                missing_runs=0,
            )
        )
        conn.execute(
            insert(OutboxRow.__table__).values(
                record_id=record_id, op="upsert", created_at=store_now()
            )
        )


def store_now() -> Any:
    from search_api.store import utcnow

    return utcnow()


BROKEN = json.dumps(
    {
        "id": "curated_agency_a:big-exponent",
        "kind": "finance",
        "title": "x",
        "source_id": "curated_agency_a",
        "curated_by": "agency_a",
        "max_amount": {"value": None, "currency": "USD"},
    }
)


def test_one_broken_stored_row_never_blocks_the_indexer(
    client: TestClient,
    store: Store,
    backend: SearchBackend,
    settings: Settings,
    agency: dict[str, str],
) -> None:
    _store_broken_row(store, "curated_agency_a:big-exponent", "curated_agency_a", BROKEN)
    store.upsert_records([fair("t_src:later", title="Later fair")])
    drain_outbox(store, backend)  # no exception: the broken row is skipped and noted
    assert store.outbox_size() == 0
    found = backend.search(SearchQuery(q="Later"))
    assert [i["id"] for i in found.items] == ["t_src:later"]
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["checks"]["broken_records"] == 1
    # Reading it says what is wrong instead of a 500, on the API and the web page.
    r = client.get("/api/v1/records/curated_agency_a:big-exponent")
    assert r.status_code == 409 and r.json()["error"]["code"] == "record_invalid"
    page = client.get("/records/curated_agency_a:big-exponent", headers={"accept": "text/html"})
    assert page.status_code == 409 and "no longer valid" in page.text
    # Its agency sees it and can delete it; then nothing is broken any more.
    assert client.get("/agency/records").status_code == 200
    r = client.delete("/api/v1/records/curated_agency_a:big-exponent", headers=agency)
    assert r.status_code == 204, r.text
    assert client.get("/readyz").json()["checks"]["broken_records"] == 0


def test_reindex_skips_a_broken_row(settings: Settings, store: Store) -> None:
    store.upsert_records([fair("t_src:ok")])
    _store_broken_row(store, "curated_agency_a:big-exponent", "curated_agency_a", BROKEN)
    out = subprocess.run(
        [sys.executable, "-m", "search_api.cli", "reindex"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "reindexed 1 records" in out.stdout


def test_a_source_shows_its_broken_records(store: Store) -> None:
    from search_api.services.health import source_health

    store.add_source(
        parse_source(
            {
                "id": "xx_src",
                "name": "x",
                "kind": "finance",
                "format": "table",
                "start_urls": ["https://example.org/x.csv"],
            }
        )
    )
    _store_broken_row(store, "xx_src:1", "xx_src", "{not json")
    assert store.list_records("xx_src") == []
    health = source_health(store, "xx_src")
    assert health["broken_records"] == 1
    assert health["broken_examples"][0]["id"] == "xx_src:1"


def test_one_broken_stored_row_never_stops_exports_feeds_or_reminders(
    client: TestClient, store: Store
) -> None:
    """Every reader of the stored records, not only the indexer: the row is left out."""
    from datetime import date, timedelta

    from search_api.domain.records import parse_record
    from search_api.services.feeds import dated_requirements
    from search_api.services.reminders import candidates

    soon = (date.today() + timedelta(days=5)).isoformat()
    broken = {
        "id": "t_req:broken",
        "kind": "requirement",
        "title": "Broken rule",
        "source_id": "t_req",
        "markets": ["KE"],
        "hs_codes": ["not a code"],
        "effective_date": soon,
    }
    _store_broken_row(store, "t_req:broken", "t_req", json.dumps(broken), kind="requirement")
    good = {**broken, "id": "t_req:good", "title": "Good rule", "hs_codes": ["0901"]}
    store.upsert_records([parse_record(good)])

    assert [r.id for r in candidates(store, date.today(), 30)] == ["t_req:good"]
    query = SearchQuery(kind=("requirement",), markets=("KE",))
    assert [r.id for r in dated_requirements(store, query, date.today(), None)] == ["t_req:good"]
    r = client.get("/api/v1/export", params={"market": "KE"})
    assert r.status_code == 200
    assert [json.loads(line)["id"] for line in r.text.splitlines()] == ["t_req:good"]
