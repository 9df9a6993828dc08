"""Issue 16, point 7: an agency adds a source through a form built from the format's model (no
YAML), sees every mapped field in the preview, the cause of a failed run, times in UTC, and
removes a source only after a confirmation page; in English, French and Spanish."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.domain.source_form import form_fields, form_values, source_from_form
from search_api.domain.sources import parse_source, source_formats
from search_api.store import RunStats, Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in, token
from tests.helpers.sites import SiteServer

NEW = "/agency/sources/new?format=html&kind=finance"


@pytest.fixture
def html_site(fixture_sites: Callable[[str], SiteServer]) -> SiteServer:
    return fixture_sites("html")


@pytest.fixture
def agency(client: TestClient, store: Store) -> TestClient:
    assert sign_in(client, create_key(store, "agency_a", "agency")).status_code == 303
    return client


def html_form(site: SiteServer, csrf: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "format": "html",
        "kind": "finance",
        "id": "xx_form_finance",
        "name": "Fixture programmes <b>",
        "start_urls": site.url("/finance/index.html"),
        "selectors.item": "tr.programme",
        "selectors.fields.title": "td.name a",
        "selectors.fields.url": "td.name a::attr(href)",
        "selectors.fields.provider.name": "td.provider::text",
        "selectors.fields.instruments": "td.instruments::text",
        "defaults.markets": "KE, UG",
        "schedule": "30 2 * * 1",
        "min_items": "1",
        "enabled": "1",
        **extra,
    }


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="f-{re.escape(name)}-error">([^<]*)<', html)
    assert found, f"no error shown next to {name}"
    return found.group(1)


def test_every_format_gets_a_form_from_its_model() -> None:
    for name in source_formats():
        for kind in ("fair", "requirement", "finance"):
            names = [f.name for f in form_fields(name, kind)]
            assert names[:7] == [
                "id",
                "name",
                "names.fr",
                "names.es",
                "kind",
                "format",
                "start_urls",
            ]
            assert "schedule" in names and "advanced" in names
    html = {f.name: f for f in form_fields("html", "fair")}
    assert html["selectors.item"].required and html["selectors.fields"].widget == "record_fields"
    assert "start_date" in html["selectors.fields"].record_fields
    table = {f.name: f for f in form_fields("table", "finance")}
    assert table["table.columns"].widget == "record_columns"
    assert "provider.name" in table["table.columns"].record_fields
    api = {f.name: f for f in form_fields("api", "requirement")}
    assert api["api.records"].widget == "text" and api["api.fields"].widget == "record_fields"
    assert api["api.method"].options == ("GET", "POST")
    assert "api.paginate.max_pages" in api


@pytest.mark.parametrize(
    "source",
    [
        {
            "id": "xx_table",
            "name": "T",
            "kind": "finance",
            "format": "table",
            "start_urls": ["https://example.org/p.csv"],
            "table": {"columns": {"Programme": "title", "Notes": None}, "delimiter": ";"},
            "defaults": {"markets": ["KE"]},
            "max_drop_ratio": 0.8,
        },
        {
            "id": "xx_api",
            "name": "A",
            "kind": "requirement",
            "format": "api",
            "start_urls": ["https://example.org/api"],
            "api": {
                "records": "data",
                "fields": {"title": "attributes.title"},
                "params": {"page[size]": 50},
                "paginate": {"param": "page", "max_pages": 5},
            },
            "defaults": {"requirement_type": "sps", "language": "en"},
        },
    ],
)
def test_a_source_survives_the_form_both_ways(source: dict[str, Any]) -> None:
    """What the form shows of a source, posted back unchanged, is the same source: settings
    the form has no field for ride in the advanced YAML."""
    values = form_values(source)
    posted = {k: v for k, v in values.items() if v not in (None, False)}

    def getlist(name: str) -> list[Any]:
        value = posted.get(name)
        return value if isinstance(value, list) else []

    data, problems = source_from_form(posted, getlist)
    assert problems == []
    assert parse_source(data) == parse_source(source)


def test_an_agency_adds_an_html_source_with_the_form_and_no_yaml(
    agency: TestClient, store: Store, html_site: SiteServer
) -> None:
    first = agency.get("/agency/sources/new").text
    assert 'name="format" value="html"' in first and 'name="kind" value="finance"' in first
    page = agency.get(NEW).text
    assert 'name="selectors.item"' in page and 'name="selectors.fields.provider.name"' in page
    assert "30 2 * * 1" in page  # the cron hint
    assert 'name="spec"' not in page  # no YAML to write
    r = agency.post(
        "/agency/sources/new",
        data=html_form(html_site, token(agency, NEW), action="save"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/agency/sources/xx_form_finance"
    spec = store.get_source("xx_form_finance")
    assert spec.owner == "agency_a" and spec.schedule == "30 2 * * 1"
    assert spec.defaults == {"markets": ["KE", "UG"]}
    assert spec.model_dump()["selectors"]["fields"]["provider.name"] == "td.provider::text"
    # Editing shows the same values in the form, and saving it changes only what was changed.
    edit = agency.get("/agency/sources/xx_form_finance/edit").text
    assert 'value="td.provider::text"' in edit and "KE, UG" in edit
    r = agency.post(
        "/agency/sources/xx_form_finance/edit",
        data=html_form(html_site, token(agency, NEW), action="save", name="Renamed"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert store.get_source("xx_form_finance").name == "Renamed"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", {"id": "3 to 80 lowercase", "schedule": "five fields", "min_items": "a number"}),
        ("fr", {"id": "De 3 à 80", "schedule": "cinq champs", "min_items": "un nombre"}),
        ("es", {"id": "De 3 a 80", "schedule": "cinco campos", "min_items": "un número"}),
    ],
)
def test_form_errors_are_next_to_their_field_in_the_pages_language(
    agency: TestClient, store: Store, html_site: SiteServer, lang: str, expected: dict[str, str]
) -> None:
    bad = html_form(
        html_site, token(agency, NEW), action="save", id="X!", schedule="daily", min_items="a few"
    )
    bad["selectors.item"] = ""
    r = agency.post(f"/agency/sources/new?lang={lang}", data=bad)
    assert r.status_code == 422
    for name, words in expected.items():
        assert words in field_error(r.text, name)
    assert field_error(r.text, "selectors-item")
    assert 'value="Fixture programmes &lt;b&gt;"' in r.text  # what was typed stays, escaped
    assert store.list_sources() == []


def test_a_private_start_url_is_refused_at_its_field(agency: TestClient, store: Store) -> None:
    data = html_form(
        _Fake(),  # type: ignore[arg-type]
        token(agency, NEW),
        action="save",
        start_urls="file:///etc/passwd",
    )
    r = agency.post("/agency/sources/new", data=data)
    assert r.status_code == 422 and "file:///etc/passwd" in field_error(r.text, "start_urls")
    assert store.list_sources() == []


class _Fake:
    def url(self, path: str) -> str:
        return f"https://example.org{path}"


@pytest.mark.crawl
def test_preview_shows_every_mapped_field_of_every_record_and_the_unfilled_ones(
    agency: TestClient, store: Store, html_site: SiteServer
) -> None:
    r = agency.post(
        "/agency/sources/new", data=html_form(html_site, token(agency, NEW), action="preview")
    )
    assert r.status_code == 200, r.text
    table = r.text[
        r.text.index('<table class="preview">') : r.text.index(
            "</table>", r.text.index('<table class="preview">')
        )
    ]
    for column in ("title", "url", "provider.name", "instruments", "markets"):
        assert f"<code>{column}</code>" in table
    assert "East Africa Export Cover" in table and "Pre-shipment Loans for SMEs" in table
    assert "Fixture Development Bank" in table and "KE, UG" in table
    unfilled = r.text[r.text.index('class="unfilled"') :]
    assert "<code>tenor_max_days</code>" in unfilled and "<code>title</code>" not in unfilled[:2000]
    assert store.list_sources() == [] and store.list_runs() == []


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("HTTP 404", "answered HTTP 404"),
        ("refused http://10.0.0.1/x: private address", "private or local address"),
        ("disallowed by robots.txt", "robots.txt"),
        (
            "TimeoutError: Getting https://x took longer than 180.0 seconds.",
            "did not answer in time",
        ),
        ("parse failed: ValueError: bad", "could not be read"),
    ],
)
def test_health_says_the_cause_of_a_failure_not_its_consequence(
    agency: TestClient, store: Store, error: str, said: str
) -> None:
    _add(agency)
    run_id = store.start_run("xx_form_finance")
    errors = [{"url": "https://fairs.example.org/list", "message": error}]
    store.finish_run(
        run_id,
        "failed",
        RunStats(pages=1, errors=errors),
        "yielded 0 records, fewer than min_items=1; nothing changed",
    )
    for path in ("/agency/sources", "/agency/sources/xx_form_finance"):
        page = agency.get(path).text
        health = page[page.index('class="error cause"') :][:600]
        assert said in health and "https://fairs.example.org/list" in health
        assert "yielded 0 records" not in health
    page = agency.get("/agency/sources/xx_form_finance").text
    assert "Times are in UTC." in page and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert "<built-in method" not in page and "None" not in page and "{&#39;" not in page
    assert re.search(r"<td>0 \(0 / 0 / 0\)</td>", page)


def test_health_of_a_run_that_read_pages_but_found_too_few(
    agency: TestClient, store: Store
) -> None:
    _add(agency)
    run_id = store.start_run("xx_form_finance")
    store.finish_run(
        run_id,
        "failed",
        RunStats(pages=3),
        "yielded 0 records, fewer than min_items=1; nothing changed",
    )
    page = agency.get("/agency/sources/xx_form_finance?lang=fr").text
    assert "ont donné 0 fiches (moins de 1)" in page


def test_remove_asks_for_confirmation_and_looks_dangerous(agency: TestClient, store: Store) -> None:
    _add(agency)
    page = agency.get("/agency/sources/xx_form_finance").text
    assert 'class="button danger" href="/agency/sources/xx_form_finance/delete"' in page
    crawl = re.search(r'<button type="submit"[^>]*>Crawl now', page)
    assert crawl and "danger" not in crawl.group(0)
    csrf = token(agency, "/agency/sources/xx_form_finance/delete")
    # A POST without the confirmation page's answer removes nothing.
    r = agency.post(
        "/agency/sources/xx_form_finance/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/delete")
    assert store.get_source("xx_form_finance")
    confirm = agency.get("/agency/sources/xx_form_finance/delete?lang=es").text
    assert "Sí, eliminar la fuente" in confirm and 'class="danger confirm"' in confirm
    r = agency.post(
        "/agency/sources/xx_form_finance/delete",
        data={"csrf_token": csrf, "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/agency/sources"
    assert all(s.id != "xx_form_finance" for s in store.list_sources())


def _add(agency: TestClient) -> None:
    r = agency.post(
        "/agency/sources/new",
        data=html_form(_Fake(), token(agency, NEW), action="save"),  # type: ignore[arg-type]
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
