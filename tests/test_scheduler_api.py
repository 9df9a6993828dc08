"""`GET /api/v1/scheduler`: admin only; jobs read from the scheduler's table in the system of
record, with next run times and each source's last run."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from schedules.jobs import cron_trigger
from schedules.service import SchedulerService
from search_api.domain.sources import SourceSpec, parse_source
from search_api.settings import Settings
from search_api.store import RunStats, Store
from search_api.store.keys import create_key

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")


def spec(source_id: str, **kw: object) -> SourceSpec:
    data: dict[str, object] = {
        "id": source_id,
        "name": "Fairs",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": ["https://example.org/fairs/"],
        "schedule": "0 4 * * 1",
    }
    data.update(kw)
    return parse_source(data)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_scheduler_status_needs_an_admin_key(client: TestClient, store: Store) -> None:
    r = client.get("/api/v1/scheduler")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"

    agency = create_key(store, "kenya_epc", "agency")
    r = client.get("/api/v1/scheduler", headers=bearer(agency))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"

    r = client.get("/api/v1/scheduler", headers=bearer("tp_not-a-real-key"))
    assert r.status_code == 401


def test_before_any_scheduler_ran_there_are_no_jobs(client: TestClient, store: Store) -> None:
    store.add_source(spec("xx_a_fairs"))
    r = client.get("/api/v1/scheduler", headers=bearer(create_key(store, "ops", "admin")))
    assert r.status_code == 200
    body = r.json()
    assert body["scheduler_jobs_table"] is False
    assert body["jobs"] == []
    assert body["sources"] == [
        {
            "id": "xx_a_fairs",
            "enabled": True,
            "schedule": "0 4 * * 1",
            "job_id": None,
            "next_run_time": None,
            "last_run": None,
            "missing_secrets": [],
        }
    ]


def test_admin_sees_jobs_next_run_times_and_last_runs(
    client: TestClient, store: Store, settings: Settings
) -> None:
    store.add_source(spec("xx_a_fairs"))
    store.add_source(spec("xx_b_fairs", schedule=None))
    store.add_source(spec("xx_c_fairs", enabled=False))
    run_id = store.start_run("xx_a_fairs")
    store.finish_run(run_id, "failed", RunStats(), "yielded 0 records, fewer than min_items=1")
    service = SchedulerService(settings.model_copy(update={"scheduler_jitter_seconds": 0}), store)
    service.start()
    service.stop(grace=0)

    r = client.get("/api/v1/scheduler", headers=bearer(create_key(store, "ops", "admin")))
    assert r.status_code == 200
    body = r.json()
    assert body["scheduler_jobs_table"] is True
    jobs = {j["id"]: j for j in body["jobs"]}
    assert set(jobs) == {"crawl:xx_a_fairs", "digest:daily", "digest:weekly", "watch:pages"}

    now = datetime.now(UTC)
    crawl = jobs["crawl:xx_a_fairs"]
    expected = cron_trigger("0 4 * * 1").get_next_fire_time(None, now)
    assert crawl["type"] == "crawl" and crawl["source_id"] == "xx_a_fairs"
    assert crawl["next_run_time"] == expected.isoformat().replace("+00:00", "Z")
    assert crawl["last_run"]["id"] == run_id
    assert crawl["last_run"]["status"] == "failed"
    assert "min_items" in crawl["last_run"]["message"]
    daily = cron_trigger(settings.digest_daily_cron).get_next_fire_time(None, now)
    assert jobs["digest:daily"]["next_run_time"] == daily.isoformat().replace("+00:00", "Z")
    assert jobs["digest:daily"]["source_id"] is None

    sources = {s["id"]: s for s in body["sources"]}
    assert sources["xx_a_fairs"]["job_id"] == "crawl:xx_a_fairs"
    assert sources["xx_a_fairs"]["next_run_time"] == crawl["next_run_time"]
    assert sources["xx_b_fairs"]["job_id"] is None and sources["xx_b_fairs"]["last_run"] is None
    assert sources["xx_c_fairs"]["job_id"] is None and sources["xx_c_fairs"]["enabled"] is False


def test_the_api_imports_neither_the_scheduler_nor_apscheduler() -> None:
    code = (
        "import sys\n"
        "from search_api.app import create_app\n"
        "from search_api.routers import scheduler\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('schedules', 'apscheduler'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == ""
