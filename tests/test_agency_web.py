"""Agency web pages: key sign-in, CSRF-checked forms, sources with preview, curated records."""

from __future__ import annotations

import base64
import re
import stat
import time

import pytest
from fastapi.testclient import TestClient

from search_api.settings import Settings
from search_api.store import RunStats, Store
from search_api.store.keys import create_key
from search_api.web.agency.session import session_secret
from tests.helpers.agency import sign_in, token
from tests.helpers.sites import SiteServer

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def key_a(store: Store) -> str:
    return create_key(store, "agency_a", "agency")


@pytest.fixture
def signed_in(client: TestClient, key_a: str) -> TestClient:
    r = sign_in(client, key_a)
    assert r.status_code == 303 and r.headers["location"] == "/agency/sources"
    return client


def source_yaml(site: SiteServer, name: str = "Fixture fairs") -> str:
    return f"""\
id: xx_web_fairs
name: "{name}"
kind: fair
format: schema_org
start_urls: ["{site.url("/fairs/index.html")}"]
follow: {{allow: ["/fairs/"], max_pages: 20}}
min_items: 2
"""


def test_signing_in_sets_a_signed_session_cookie_without_the_key(
    client: TestClient, key_a: str, settings: Settings
) -> None:
    assert client.get("/agency/sources", follow_redirects=False).headers["location"] == (
        "/agency/signin"
    )
    r = sign_in(client, key_a)
    assert r.status_code == 303
    cookie = r.cookies.get("tradepoint_session") or client.cookies.get("tradepoint_session")
    assert cookie and key_a not in cookie
    payload = base64.b64decode(cookie.split(".")[0] + "==").decode()
    assert key_a not in payload and "sid" in payload
    assert "signed in as <b>agency_a</b>" in client.get("/agency/sources").text
    # A tampered cookie is no session at all.
    client.cookies.set("tradepoint_session", "x" + cookie[1:])
    assert client.get("/agency/sources", follow_redirects=False).status_code == 303
    secret_file = settings.data_dir / "session_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert session_secret(settings) == secret_file.read_text().strip()


def test_a_wrong_key_does_not_sign_in(client: TestClient) -> None:
    r = sign_in(client, "tp_wrong")
    assert r.status_code == 401 and "not valid" in r.text
    assert client.get("/agency/sources", follow_redirects=False).status_code == 303


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(
    client: TestClient, key_a: str, store: Store, fair_site: SiteServer
) -> None:
    client.get("/agency/signin")
    for data in ({"api_key": key_a}, {"api_key": key_a, "csrf_token": "forged"}):
        r = client.post("/agency/signin", data=data, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
    assert sign_in(client, key_a).status_code == 303
    for extra in ({}, {"csrf_token": "forged"}):
        r = client.post(
            "/agency/sources/new",
            data={"spec": source_yaml(fair_site), "action": "save", **extra},
            follow_redirects=False,
        )
        assert r.status_code == 403
    assert store.list_sources() == []
    # A token from before signing in does not carry over: the session is new.
    r = client.post("/agency/signout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403


def test_add_a_source_through_the_form(
    signed_in: TestClient, store: Store, fair_site: SiteServer
) -> None:
    csrf = token(signed_in, "/agency/sources/new")
    r = signed_in.post(
        "/agency/sources/new",
        data={"spec": source_yaml(fair_site), "action": "save", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/agency/sources/xx_web_fairs"
    spec = store.get_source("xx_web_fairs")
    assert spec.owner == "agency_a" and spec.min_items == 2
    page = signed_in.get("/agency/sources").text
    assert "xx_web_fairs" in page and "Never run" in page
    # Edit: the form round-trips the YAML.
    edit = signed_in.get("/agency/sources/xx_web_fairs/edit?mode=yaml").text
    assert "xx_web_fairs" in edit and "min_items: 2" in edit
    r = signed_in.post(
        "/agency/sources/xx_web_fairs/edit",
        data={"spec": source_yaml(fair_site, "Renamed"), "action": "save", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and store.get_source("xx_web_fairs").name == "Renamed"
    assert fair_site.requested == []  # saving fetches nothing


def test_bad_sources_are_shown_again_with_the_problem(signed_in: TestClient, store: Store) -> None:
    csrf = token(signed_in, "/agency/sources/new")
    for text, problem in [
        ("id: [unclosed", "not valid YAML"),
        (
            "id: xx_x\nname: X\nkind: fair\nformat: ical\nstart_urls: [file:///etc/passwd]",
            "start_urls.0",
        ),
    ]:
        r = signed_in.post(
            "/agency/sources/new", data={"spec": text, "action": "save", "csrf_token": csrf}
        )
        assert r.status_code == 422 and problem in r.text
    assert store.list_sources() == []


@pytest.mark.crawl
def test_preview_in_the_form_shows_records_and_saves_nothing(
    signed_in: TestClient, store: Store, fair_site: SiteServer
) -> None:
    csrf = token(signed_in, "/agency/sources/new")
    text = source_yaml(fair_site, name=HOSTILE)
    r = signed_in.post(
        "/agency/sources/new", data={"spec": text, "action": "preview", "csrf_token": csrf}
    )
    assert r.status_code == 200, r.text
    assert "Preview:" in r.text and "Nairobi Agri &amp; Food Expo 2027" in r.text
    assert "stopped after 3 pages" in r.text
    assert "<script>alert" not in r.text  # the YAML typed in is shown back, escaped
    assert store.list_sources() == [] and store.count_records() == 0 and store.list_runs() == []


def test_runs_page_shows_errors_escaped(
    signed_in: TestClient, store: Store, fair_site: SiteServer
) -> None:
    csrf = token(signed_in, "/agency/sources/new")
    signed_in.post(
        "/agency/sources/new",
        data={"spec": source_yaml(fair_site, name=HOSTILE), "action": "save", "csrf_token": csrf},
    )
    run_id = store.start_run("xx_web_fairs")
    errors = [{"url": "https://fairs.example.org/broken", "message": f"HTTP 500 {HOSTILE}"}]
    store.finish_run(run_id, "failed", RunStats(pages=4, errors=errors), "yielded 0 records")
    page = signed_in.get("/agency/sources/xx_web_fairs").text
    assert "https://fairs.example.org/broken" in page and "yielded 0 records" in page
    assert f"HTTP 500 {ESCAPED}" in page
    assert "Failing" in page and "1 failure in a row" in page
    assert "<script>" not in page and "<img src=x" not in page


def test_add_a_curated_finance_record_through_the_form(signed_in: TestClient, store: Store) -> None:
    form = signed_in.get("/agency/records/new?kind=finance").text
    assert 'name="provider.name"' in form and 'value="credit_insurance"' in form
    csrf = token(signed_in, "/agency/records/new?kind=finance")
    data = {
        "csrf_token": csrf,
        "kind": "finance",
        "slug": "pre-shipment",
        "title": f"Pre-shipment loans {HOSTILE}",
        "provider.name": "Example Exim Bank",
        "provider.type": "exim_bank",
        "instruments": ["pre_shipment_loan", "working_capital_guarantee"],
        "eligible_exporter_countries": "KE, UG",
        "sme_focus": "1",
        "max_amount.value": "250000",
        "max_amount.currency": "usd",
        "markets": "",
    }
    r = signed_in.post("/agency/records/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    record_id = "curated_agency_a:pre-shipment"
    assert r.headers["location"] == f"/records/{record_id}"
    rec = store.get_record(record_id)
    assert rec is not None and rec.kind == "finance" and rec.curated_by == "agency_a"
    assert rec.instruments == ["pre_shipment_loan", "working_capital_guarantee"]
    assert rec.eligible_exporter_countries == ["KE", "UG"] and rec.sme_focus is True
    assert rec.provider is not None and rec.provider.type == "exim_bank"
    assert rec.max_amount is not None and rec.max_amount.currency == "USD"
    for path in ("/agency/records", f"/records/{record_id}", f"/agency/records/{record_id}/edit"):
        page = signed_in.get(path).text
        assert ESCAPED in page and "<script>alert" not in page
    # Edit it: an unticked box and an emptied field clear what they held.
    edit = {**data, "title": "Pre-shipment loans", "sme_focus": "", "max_amount.value": ""}
    edit.pop("max_amount.currency")
    r = signed_in.post(f"/agency/records/{record_id}/edit", data=edit, follow_redirects=False)
    assert r.status_code == 303, r.text
    rec = store.get_record(record_id)
    assert rec is not None and rec.title == "Pre-shipment loans"
    assert rec.sme_focus is None and rec.max_amount is None and rec.version == 2


def test_a_bad_record_form_is_shown_again_with_what_was_typed(
    signed_in: TestClient, store: Store
) -> None:
    csrf = token(signed_in, "/agency/records/new?kind=fair")
    r = signed_in.post(
        "/agency/records/new",
        data={
            "csrf_token": csrf,
            "kind": "fair",
            "title": "Kampala Trade Show",
            "country": "Narnia",
            "sectors": ["food"],
            "start_date": "2027-05-02",
        },
    )
    assert r.status_code == 422
    assert "country" in r.text and 'value="Kampala Trade Show"' in r.text
    assert 'value="food" checked' in r.text and 'value="seafood" checked' not in r.text
    assert store.count_records() == 0


def test_another_agency_cannot_act_on_a_source_or_record(
    signed_in: TestClient, store: Store, fair_site: SiteServer
) -> None:
    csrf = token(signed_in, "/agency/sources/new")
    signed_in.post(
        "/agency/sources/new",
        data={"spec": source_yaml(fair_site), "action": "save", "csrf_token": csrf},
    )
    key_b = create_key(store, "agency_b", "agency")
    signed_in.post("/agency/signout", data={"csrf_token": csrf})
    assert sign_in(signed_in, key_b).status_code == 303
    assert "xx_web_fairs" not in signed_in.get("/agency/sources").text
    csrf = token(signed_in, "/agency/sources/new")
    for action in ("crawl", "delete"):
        r = signed_in.post(f"/agency/sources/xx_web_fairs/{action}", data={"csrf_token": csrf})
        assert r.status_code == 403
    assert store.list_runs() == [] and store.get_source("xx_web_fairs").owner == "agency_a"
    assert fair_site.requested == []


@pytest.mark.crawl
def test_crawl_now_from_the_source_page(
    signed_in: TestClient, store: Store, fair_site: SiteServer
) -> None:
    csrf = token(signed_in, "/agency/sources/new")
    signed_in.post(
        "/agency/sources/new",
        data={"spec": source_yaml(fair_site), "action": "save", "csrf_token": csrf},
    )
    busy = store.start_run("xx_web_fairs")
    page = signed_in.post("/agency/sources/xx_web_fairs/crawl", data={"csrf_token": csrf}).text
    assert f"already running (run {busy}" in page
    store.finish_run(busy, "interrupted", RunStats(), "test")
    page = signed_in.post("/agency/sources/xx_web_fairs/crawl", data={"csrf_token": csrf}).text
    run_id = int(re.search(r"Run (\d+) started", page).group(1))  # type: ignore[union-attr]
    deadline = time.monotonic() + 180
    while store.get_run(run_id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.25)
    assert store.get_run(run_id).status == "succeeded"
    page = signed_in.get("/agency/sources/xx_web_fairs").text
    assert "Healthy" in page and "items per run: " in page
