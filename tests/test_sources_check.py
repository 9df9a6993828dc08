"""`tradepoint catalogue` registers the built-in sources; `sources list` shows their state (a
missing secret included) and the scheduler leaves out what lacks a secret; `sources check`
fetches sources live (here: loopback) and reports items, fields filled and errors, writing
nothing; only an admin may give a source the operator's secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schedules.jobs import desired_crawl_jobs
from search_api.cli import main
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in
from tests.helpers.api_server import ApiRequest, Reply, api_server, json_reply
from tests.helpers.formats import make_spec

pytestmark = pytest.mark.crawl


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_catalogue_registers_the_builtin_sources_and_list_shows_their_state(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEPOINT_SECRET_WTO_API_KEY", raising=False)
    monkeypatch.delenv("TRADEPOINT_SECRET_REGULATIONS_GOV_API_KEY", raising=False)
    code, out = run_cli(capsys, "catalogue")
    assert code == 0, out
    assert "registered 10 built-in sources (fair, finance, requirement)" in out
    assert "int_wto_eping_notifications: needs TRADEPOINT_SECRET_WTO_API_KEY" in out
    code, out = run_cli(capsys, "sources", "list", "--json")
    listed = {s["id"]: s for s in json.loads(out)}
    builtin = {
        k: v for k, v in listed.items() if v.get("owner") == "tradepoint" and v.get("tested_with")
    }
    assert len(builtin) >= 8
    assert {s["kind"] for s in builtin.values()} == {"fair", "requirement", "finance"}
    assert listed["int_wto_eping_notifications"]["state"] == "needs TRADEPOINT_SECRET_WTO_API_KEY"
    # the stored spec keeps the reference, never a value
    assert listed["int_wto_eping_notifications"]["api"]["headers"] == {
        "Ocp-Apim-Subscription-Key": "${WTO_API_KEY}"
    }
    assert listed["us_federal_register_trade_rules"]["state"] == "never_run"
    assert listed["starter_finance"]["state"] == "ok"  # the curated catalogue, loaded
    code, out = run_cli(capsys, "sources", "list")
    line = next(x for x in out.splitlines() if x.startswith("int_wto_eping_notifications"))
    assert line.endswith("needs TRADEPOINT_SECRET_WTO_API_KEY")

    # the scheduler derives its jobs from the registry: none for a source without its secret
    store = Store(settings.sqlalchemy_url)
    jobs = desired_crawl_jobs(store.list_sources())
    assert "crawl:us_federal_register_trade_rules" in jobs
    assert "crawl:int_wto_eping_notifications" not in jobs
    monkeypatch.setenv("TRADEPOINT_SECRET_WTO_API_KEY", "k")
    assert "crawl:int_wto_eping_notifications" in desired_crawl_jobs(store.list_sources())

    # an operator's choice to disable a built-in source survives the next `catalogue`
    spec = store.get_source("int_wikidata_trade_fairs")
    store.add_source(spec.model_copy(update={"enabled": False}), replace=True)
    assert main(["catalogue"]) == 0
    assert store.get_source("int_wikidata_trade_fairs").enabled is False
    store.close()


def test_sources_check_reports_items_fields_and_errors_and_writes_nothing(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    def fairs(request: ApiRequest) -> Reply:
        return json_reply(
            {
                "results": [
                    {"name": "Fair A", "start": "2027-03-01", "city": "Accra", "country": "GH"},
                    {"name": "Fair B", "start": "2027-04-01", "city": "Lomé"},
                    {"name": "Fair C", "start": "not a date"},
                ]
            }
        )

    with api_server() as server:
        server.route("/fairs", fairs)
        good = make_spec(
            id="xx_check_good",
            kind="fair",
            format="api",
            start_urls=[server.url("/fairs")],
            api={
                "records": "results",
                "fields": {
                    "title": "name",
                    "start_date": "start",
                    "city": "city",
                    "country": "country",
                },
            },
        )
        broken = make_spec(
            id="xx_check_broken",
            kind="fair",
            format="api",
            start_urls=[server.url("/gone")],
            api={"fields": {"title": "name"}},
        )
        secret = make_spec(
            id="xx_check_secret",
            kind="fair",
            format="api",
            start_urls=[server.url("/fairs")],
            api={"fields": {"title": "name"}, "headers": {"K": "${XX_UNSET_KEY}"}},
        )
        for spec in (good, broken, secret):
            store.add_source(spec)
        code, out = run_cli(
            capsys, "sources", "check", "xx_check_good", "xx_check_broken", "xx_check_secret"
        )
        assert code == 1  # one source is broken
        assert "xx_check_good: works, with 1 error(s)" in out
        assert "items read: 3 in 1 page(s)" in out
        assert "fields filled: " in out and "title 3/3" in out and "city 2/3" in out
        assert "start_date 2/3" in out and "country 1/3" in out
        assert "cannot read 'not a date' as a date" in out
        assert "xx_check_broken: BROKEN: no records" in out and "HTTP 404" in out
        assert "xx_check_secret: needs TRADEPOINT_SECRET_XX_UNSET_KEY" in out
        assert [r.path for r in server.requests].count("/fairs") == 1  # not the secret one
        code, out = run_cli(capsys, "sources", "check", "xx_check_good", "--json")
        (report,) = json.loads(out)
        assert code == 0 and report["ok"] and report["items"] == 3
    # a preview: no record, no run
    assert store.count_records("xx_check_good") == 0
    assert store.list_runs("xx_check_good") == []


def test_only_an_admin_gives_a_source_the_operators_secrets(
    client: TestClient, store: Store
) -> None:
    agency = create_key(store, "agency_s", "agency")
    admin = create_key(store, "ops", "admin")
    body: dict[str, Any] = {
        "id": "agency_s_api",
        "name": "An API with a key",
        "kind": "requirement",
        "format": "api",
        "start_urls": ["https://api.example.org/v1/items"],
        "api": {"fields": {"title": "t"}, "headers": {"X-Key": "${WTO_API_KEY}"}},
    }
    r = client.post("/api/v1/sources", json=body, headers={"Authorization": f"Bearer {agency}"})
    assert r.status_code == 403 and "only an admin" in r.json()["error"]["message"]
    r = client.post(
        "/api/v1/sources/preview", json=body, headers={"Authorization": f"Bearer {agency}"}
    )
    assert r.status_code == 403
    r = client.post("/api/v1/sources", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 201, r.text
    shown = client.get("/api/v1/sources/agency_s_api").json()
    assert shown["api"]["headers"] == {"X-Key": "${WTO_API_KEY}"}
    assert "missing_secrets" in shown
    # an agency cannot add a secret to its own source by editing it either
    own = {**body, "id": "agency_s_plain", "api": {"fields": {"title": "t"}}}
    assert (
        client.post(
            "/api/v1/sources", json=own, headers={"Authorization": f"Bearer {agency}"}
        ).status_code
        == 201
    )
    r = client.patch(
        "/api/v1/sources/agency_s_plain",
        json={"api": {"fields": {"title": "t"}, "headers": {"X-Key": "${SMTP_PASSWORD}"}}},
        headers={"Authorization": f"Bearer {agency}"},
    )
    assert r.status_code == 403


def test_the_agency_pages_say_a_source_lacks_its_secret(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEPOINT_SECRET_XX_PAGE_KEY", raising=False)
    admin = create_key(store, "ops", "admin")
    store.add_source(
        make_spec(
            id="xx_needs_key",
            kind="fair",
            format="api",
            start_urls=["https://api.example.org/fairs"],
            api={"fields": {"title": "t"}, "headers": {"K": "${XX_PAGE_KEY}"}},
        )
    )
    assert sign_in(client, admin).status_code in (302, 303)
    for path in ("/agency/sources", "/agency/sources/xx_needs_key"):
        page = client.get(path).text
        assert "it needs TRADEPOINT_SECRET_XX_PAGE_KEY" in page, path
