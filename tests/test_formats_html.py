"""The `html` format: CSS/XPath selectors, pagination, detail pages, real crawls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from crawlers.extract.html_selectors import extract_detail, extract_items
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import (
    DETAIL_FIELDS,
    FINANCE_FIELDS,
    NOTICE_FIELDS,
    crawl,
    errors_of,
    finance_spec,
    make_spec,
    records_of,
    search_ids,
)
from tests.helpers.sites import SITES, SiteServer, serve_copy


@pytest.fixture
def html_site(tmp_path: Path) -> Iterator[SiteServer]:
    with serve_copy("html", tmp_path) as site:
        yield site


# --------------------------------------------------------------------------- extraction


def test_css_fields_lists_and_relative_urls() -> None:
    body = (SITES / "html" / "finance" / "index.html").read_bytes()
    url = "http://fixture.test/finance/index.html"
    result = extract_items(body, url, "tr.programme", FINANCE_FIELDS, "a[rel=next]::attr(href)")
    assert result.errors == []
    assert result.next_url == "http://fixture.test/finance/page2.html"
    first, second = result.items
    # an element selector gives its whole text, inline markup included
    assert first["title"] == ["East Africa Export Cover"]
    assert first["url"] == ["http://fixture.test/finance/programme-a.html?utm_campaign=list"]
    assert second["url"] == ["http://fixture.test/finance/programme-b.html"]
    assert first["eligible_exporter_countries"] == ["Kenya, Uganda and Tanzania"]


def test_xpath_fields_are_read_inside_each_item() -> None:
    body = (SITES / "html" / "notices" / "index.html").read_bytes()
    result = extract_items(
        body, "http://fixture.test/notices/", "//div[@class='notice']", NOTICE_FIELDS
    )
    first, second = result.items
    assert first["markets"] == ["Kenya, Ouganda et Tanzanie"]
    assert second["markets"] == ["EU"]
    assert first["hs_codes"] == ["SH 19, 2005"] and second["hs_codes"] == ["0901.11"]
    # escaped markup in a heading is text, and hostile text is dropped, never kept as markup
    assert second["title"] == ["Fumigation certificates"]


def test_a_bad_selector_is_reported_once_per_page() -> None:
    body = (SITES / "html" / "finance" / "index.html").read_bytes()
    fields = {"title": "td.name a", "url": "td[[[::attr(href)"}
    result = extract_items(body, "http://fixture.test/", "tr.programme", fields)
    assert len(result.items) == 2
    assert len(result.errors) == 1 and result.errors[0].startswith("selector for 'url'")
    nothing = extract_items(body, "http://fixture.test/", "div.gone", fields)
    assert nothing.items == [] and nothing.errors == ["item selector 'div.gone' matched nothing"]


def test_detail_fields() -> None:
    body = (SITES / "html" / "finance" / "programme-a.html").read_bytes()
    values, errors = extract_detail(
        body, "http://fixture.test/finance/programme-a.html", DETAIL_FIELDS
    )
    assert errors == []
    assert values["summary"] == ["Insures your foreign receivables against non-payment."]
    assert values["application_url"] == ["http://fixture.test/apply/east-africa"]
    assert "footnote" not in values


# --------------------------------------------------------------------------- crawls


@pytest.mark.crawl
def test_list_pages_detail_pages_and_kind_specific_fields(
    settings: Settings, store: Store, backend: SearchBackend, html_site: SiteServer
) -> None:
    spec = finance_spec(html_site, defaults={"destinations": ["EU"]})
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert set(got) == {
        "East Africa Export Cover",
        "Pre-shipment Loans for SMEs",
        "Matching Grants for Trade Fairs",
    }
    cover = got["East Africa Export Cover"]
    assert cover.kind == "finance"
    assert cover.url == html_site.url("/finance/programme-a.html")  # utm_ parameter dropped
    assert cover.source_url == html_site.url("/finance/programme-a.html")
    assert cover.instruments == ["credit_insurance", "factoring"]
    assert cover.eligible_exporter_countries == ["KE", "UG", "TZ"]
    assert cover.sectors == ["coffee_tea_cocoa", "agriculture"]
    assert cover.provider is not None
    assert (cover.provider.name, cover.provider.type) == ("Fixture Export Credit Agency", "eca")
    assert cover.max_amount is not None
    assert (cover.max_amount.value, cover.max_amount.currency) == (1_500_000, "USD")
    assert (cover.tenor_max_days, cover.coverage_pct_max, cover.sme_focus) == (730, 90, True)
    assert cover.application_url == html_site.url("/apply/east-africa")
    assert cover.destinations == ["EU"]  # from defaults
    assert cover.summary == "Insures your foreign receivables against non-payment."
    loans = got["Pre-shipment Loans for SMEs"]
    assert loans.instruments == ["pre_shipment_loan"]
    assert loans.eligible_exporter_countries == ["GH", "CI"]
    assert loans.provider is not None and loans.provider.type == "development_bank"
    assert loans.max_amount is not None and loans.max_amount.value == 250_000
    # page 2's item links to a page that does not exist: kept with what the list said
    grants = got["Matching Grants for Trade Fairs"]
    assert grants.instruments == ["grant"] and grants.eligible_exporter_countries == ["SN"]
    errors = errors_of(store, outcome)
    assert {"url": html_site.url("/finance/programme-gone.html"), "message": "HTTP 404"} in errors
    page2 = [e["message"] for e in errors if e["url"] == html_site.url("/finance/page2.html")]
    assert "Matching Grants for Trade Fairs: instruments: unknown instrument 'Magic loan'" in page2
    assert (
        "Matching Grants for Trade Fairs: eligible_exporter_countries: "
        "unknown country or market 'Narnia'" in page2
    )
    assert "unmapped: footnote" not in (outcome.message or "")
    run = store.get_run(outcome.run_id)
    # two list pages and two detail pages were read (the 404 is an error, not a page)
    assert run.items_failed == 0 and run.pages == 4
    assert search_ids(store, backend, q="receivables") == {cover.id}
    assert search_ids(store, backend, kind=("finance",)) == {r.id for r in got.values()}
    assert search_ids(store, backend, sectors=("coffee_tea_cocoa",)) == {cover.id}
    again = crawl(settings, store, spec)
    assert store.get_run(again.run_id).items_unchanged == 3


@pytest.mark.crawl
def test_xpath_source_with_french_values(
    settings: Settings, store: Store, backend: SearchBackend, html_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_html_notices",
        kind="requirement",
        format="html",
        start_urls=[html_site.url("/notices/index.html")],
        selectors={"item": "//div[@class='notice']", "fields": {**NOTICE_FIELDS, "when": "//p"}},
        min_items=2,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    label = got["Étiquetage des denrées préemballées"]
    assert label.markets == ["KE", "UG", "TZ"]
    assert (label.requirement_type, label.status) == ("labelling", "in_force")
    assert label.hs_codes == ["19", "2005"]
    assert label.effective_date == date(2027, 3, 1)
    assert label.url == html_site.url("/notices/etiquetage.html")
    fumigation = got["Fumigation certificates"]
    assert (fumigation.requirement_type, fumigation.status) == ("sps", "proposed")
    assert fumigation.hs_codes == ["090111"] and fumigation.markets == ["EU"]
    assert fumigation.url is None and fumigation.effective_date is None
    messages = [e["message"] for e in errors_of(store, outcome)]
    assert (
        "Fumigation certificates: effective_date: cannot read 'next Tuesday' as a date" in messages
    )
    assert "Fumigation certificates: url: 'javascript:alert(1)' is not an http(s) URL" in messages
    # a field the record does not have is reported on the run
    assert "unmapped: when" in (outcome.message or "")
    assert search_ids(store, backend, markets=("EU",)) == {fumigation.id}
    assert search_ids(store, backend, hs="1905") == {label.id}


@pytest.mark.crawl
def test_selector_matching_nothing_fails_the_run_and_says_where(
    settings: Settings, store: Store, html_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_html_redesigned",
        kind="requirement",
        format="html",
        start_urls=[html_site.url("/notices/empty.html")],
        selectors={"item": "div.notice", "fields": {"title": "h2"}},
    )
    outcome = crawl(settings, store, spec)
    assert outcome.status == "failed"
    assert "fewer than min_items=1" in (outcome.message or "")
    assert errors_of(store, outcome) == [
        {
            "url": html_site.url("/notices/empty.html"),
            "message": "item selector 'div.notice' matched nothing",
        }
    ]
    assert store.count_records(spec.id) == 0
