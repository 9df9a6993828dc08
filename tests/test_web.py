"""Server-rendered pages through the in-process client."""

from __future__ import annotations

import gzip
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from search_api.domain.sources import parse_source
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from tests.helpers.factories import fair, parse_record

YEAR = date.today().year + 1
HOSTILE_TITLE = "Expo <script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    countries = ["KE", "DE", "FR", "AE", "US", "BR"]
    sectors = ["food", "textiles", "packaging", "leather", "furniture", "handicrafts"]
    records = [
        fair(
            f"t_src:{i}",
            f"Trade Fair Number {i} for exporters",
            country=countries[i % 6],
            city="Somewhere",
            start_date=f"{YEAR}-{1 + i % 12:02d}-10",
            end_date=f"{YEAR}-{1 + i % 12:02d}-12",
            sectors=[sectors[i % 6]],
            summary="A long description of the fair " * 8,
            url=f"https://fair{i}.example.org/",
        )
        for i in range(45)
    ]
    records.append(fair("t_src:evil", HOSTILE_TITLE, summary="<b>bold</b> & <script>x()</script>"))
    store.upsert_records(records)
    drain_outbox(store, backend)


@pytest.mark.usefixtures("loaded")
def test_home_page_has_a_search_form_and_upcoming_fairs(client: TestClient) -> None:
    r = client.get("/", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert '<form action="/search" method="get"' in r.text
    assert "Upcoming fairs" in r.text and "Trade Fair Number" in r.text


@pytest.mark.usefixtures("loaded")
def test_results_have_facets_active_filters_and_paging(client: TestClient) -> None:
    r = client.get("/search", params={"q": "exporters", "market": "KE"})
    assert r.status_code == 200
    html = r.text
    assert "8 results" in html  # 45 fairs, every sixth in Kenya
    # The active market filter can be removed: its link keeps q and drops market.
    assert 'href="/search?q=exporters"' in html
    # A facet link adds a filter to the current search.
    assert re.search(r'href="/search\?q=exporters&amp;market=KE&amp;sector=food"', html)
    r = client.get("/search", params={"kind": "fair"})
    assert "Page 1 of 3" in r.text and 'rel="next" href="/search?kind=fair&amp;page=2"' in r.text
    r2 = client.get("/search", params={"kind": "fair", "page": 2})
    assert "Page 2 of 3" in r2.text and 'rel="prev"' in r2.text


@pytest.mark.usefixtures("loaded")
def test_lang_on_a_page_is_its_language_not_a_filter(client: TestClient) -> None:
    # The JSON API filters records by `lang`; on the web it switches the page's language, and
    # these records say nothing of theirs.
    english = client.get("/search", params={"kind": "fair"})
    french = client.get("/search", params={"kind": "fair", "lang": "fr"})
    assert french.status_code == 200
    assert '<html lang="fr"' in french.text and '<html lang="en"' in english.text
    shown = english.text.count("Trade Fair Number")
    assert shown > 10 and french.text.count("Trade Fair Number") == shown


def test_records_language_is_a_facet_named_in_the_page_language(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    store.upsert_records(
        [
            fair("t_src:fr1", "Salon du cacao", language="fr", country="CI"),
            fair("t_src:fr2", "Salon du karité", language="fr-CI", country="BF"),
            fair("t_src:en1", "Cocoa Week", language="en", country="GH"),
            fair("t_src:none", "Shea Days", country="GH"),
        ]
    )
    drain_outbox(store, backend)
    page = client.get("/search", params={"lang": "fr"}).text
    assert re.search(
        r"<h3>Langue</h3>\s*<ul>\s*"
        r'<li><a href="/search\?language=fr">Français</a> <small>2</small>',
        page,
    )
    assert re.search(r'<a href="/search\?language=en">Anglais</a> <small>1</small>', page)
    # following the facet: the French records only, the filter shown and kept by the forms
    page = client.get("/search", params={"language": "fr", "lang": "es"}).text
    assert "Salon du cacao" in page and "Salon du karité" in page and "Cocoa Week" not in page
    assert "idioma: Francés" in page
    assert '<input type="hidden" name="language" value="fr">' in page
    # the calendar of this search asks the API for the records' language by its API name
    assert "/api/v1/fairs.ics?lang=fr" in page
    # a language given by name or tag is the same filter; one that is none is a 400
    assert client.get("/search", params={"language": "French"}).text.count("Salon du") == 2
    bad = client.get("/search", params={"language": "Elvish"})
    assert bad.status_code == 400 and "unknown language" in bad.text


@pytest.mark.usefixtures("loaded")
def test_source_html_is_escaped_everywhere(client: TestClient) -> None:
    for url in ("/search?q=expo", "/records/t_src:evil", "/"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
    assert "&lt;script&gt;alert" in client.get("/records/t_src:evil").text
    html = client.get("/search", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html


@pytest.mark.usefixtures("loaded")
def test_record_page_shows_provenance(client: TestClient, store: Store) -> None:
    html = client.get("/records/t_src:3").text
    for label in ("Provenance", "Source", "First seen", "Last seen", "Last changed"):
        assert label in html
    assert "https://fair3.example.org/" in html
    # the source by its name, never its id (here it left the registry)
    assert "a source no longer registered" in html
    assert ">t_src<" not in html and "t_src " not in html.replace('href="/records/t_src', "")
    store.add_source(
        parse_source(
            {"id": "t_src", "name": "Example fair calendar", "kind": "fair",
             "format": "ical", "start_urls": ["https://calendar.example.org/fairs.ics"]}
        )
    )  # fmt: skip
    html = client.get("/records/t_src:3").text
    assert "<dd>Example fair calendar" in html


@pytest.mark.usefixtures("loaded")
def test_results_page_of_20_stays_under_30kb(client: TestClient) -> None:
    r = client.get("/search", params={"kind": "fair", "size": 20})
    assert r.text.count('class="item"') == 20
    assert len(r.content) < 30_000, len(r.content)
    r = client.get("/search", params={"kind": "fair"}, headers={"accept-encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    assert len(gzip.compress(r.content)) < 8_000


def test_bad_input_renders_an_html_error_page(client: TestClient) -> None:
    r = client.get("/search", params={"market": "Narnia"}, headers={"accept": "text/html"})
    assert r.status_code == 400
    assert "unknown market" in r.text and "<html" in r.text
    r = client.get("/records/missing", headers={"accept": "text/html"})
    assert r.status_code == 404 and "Not found" in r.text


def test_pages_work_on_an_empty_index(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    r = client.get("/search", params={"q": "anything"})
    assert r.status_code == 200 and "Nothing found" in r.text


def test_static_css_is_served(client: TestClient) -> None:
    r = client.get("/static/style.css")
    assert r.status_code == 200 and "@media" in r.text


def test_market_facets_say_what_else_their_links_find(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    # Clicking "Germany" also finds EU-wide rules, clicking "EU" also finds German ones: each
    # facet entry says so next to its own count.
    rules = [
        ("t_src:de1", ["DE"]),
        ("t_src:eu1", ["EU"]),
        ("t_src:eu2", ["EU"]),
        ("t_src:ke1", ["KE"]),
    ]
    store.upsert_records(
        [
            parse_record(
                {
                    "id": rid,
                    "kind": "requirement",
                    "title": f"Labelling rule {rid}",
                    "source_id": "t_src",
                    "markets": codes,
                }
            )
            for rid, codes in rules
        ]
    )
    drain_outbox(store, backend)
    html = client.get("/search", params={"kind": "requirement"}).text
    germany = re.search(r'<li><a href="[^"]*market=DE">[^<]*</a> <small>(.*?)</small>', html)
    eu = re.search(r'<li><a href="[^"]*market=EU">[^<]*</a> <small>(.*?)</small>', html)
    kenya = re.search(r'<li><a href="[^"]*market=KE">[^<]*</a> <small>(.*?)</small>', html)
    assert germany and eu and kenya, html
    assert re.sub(r"<[^>]+>", "", germany.group(1)) == "1 +2 EU"
    assert re.sub(r"<[^>]+>", "", eu.group(1)) == "2 +1"
    assert re.sub(r"<[^>]+>", "", kenya.group(1)) == "1"
    # what the Germany link finds: its own rule and the EU-wide ones
    assert client.get("/api/v1/search", params={"market": "DE"}).json()["total"] == 3
