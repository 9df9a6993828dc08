"""The `pdf` format: a requirement document as one record, with the dates it states.

The PDFs are written by `make_pdf` below (text-only PDF 1.4, standard Helvetica font), so no
binary fixture is committed and each test says exactly what its document contains.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.extract.pdf import extract_pdf, find_dates
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import (
    COFFEE,
    DRAFT,
    crawl,
    errors_of,
    make_pdf,
    make_spec,
    records_of,
    search_ids,
)
from tests.helpers.sites import SITES, SiteServer, serve_copy


@pytest.fixture
def pdf_site(tmp_path: Path) -> Iterator[SiteServer]:
    with serve_copy("pdf", tmp_path) as site:
        docs = site.root / "docs"
        docs.mkdir()
        (docs / "coffee-labelling.pdf").write_bytes(COFFEE)
        (docs / "draft-notice.pdf").write_bytes(DRAFT)
        yield site


# --------------------------------------------------------------------------- extraction


def test_title_text_dates_and_hs_codes_of_a_document() -> None:
    result = extract_pdf(COFFEE, "http://fixture.test/coffee.pdf")
    assert result.errors == []
    record = result.record
    assert record is not None
    assert record["title"] == "Coffee labelling regulation"
    assert "must show the country of roasting" in record["text"]
    assert "Étiquetage en français aussi." in record["text"]  # the second page too
    assert record["published_date"] == dt.date(2026, 3, 12)
    assert record["effective_date"] == dt.date(2027, 1, 1)
    assert record["comment_deadline"] == dt.date(2026, 4, 30)
    assert record["hs_codes"] == ["090121", "090122"]
    # which dates were found, and from what words, for a reviewer to check
    assert result.found == [
        "published_date 2026-03-12 from 'Published: 12 March 2026'",
        "comment_deadline 2026-04-30 from 'Comments may be sent until 30 April 2026'",
        "effective_date 2027-01-01 from 'shall apply from 1 January 2027'",
    ]


def test_a_meaningless_metadata_title_gives_way_to_the_first_line() -> None:
    record = extract_pdf(DRAFT, "http://fixture.test/draft.pdf").record
    assert record is not None
    assert record["title"] == "Avis aux exportateurs : emballage des fruits"
    assert record["effective_date"] == dt.date(2027, 3, 1)
    assert "published_date" not in record


def test_dates_without_a_describing_phrase_are_not_guessed() -> None:
    dates, found = find_dates("Meeting held on 3 May 2026 in Nairobi. Fecha: 4 de mayo de 2026")
    assert dates == {"published_date": dt.date(2026, 5, 4)} and len(found) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ((SITES / "pdf" / "not-a-pdf.pdf").read_bytes(), "not a PDF document (starts with"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "not a readable PDF"),
        (COFFEE[: len(COFFEE) // 3], "not a readable PDF"),
    ],
)
def test_broken_documents_say_why(body: bytes, message: str) -> None:
    result = extract_pdf(body, "http://fixture.test/x.pdf")
    assert result.record is None
    assert result.errors and result.errors[0].startswith(message), result.errors


# --------------------------------------------------------------------------- crawls


@pytest.mark.crawl
def test_publications_page_crawl_with_defaults_and_search(
    settings: Settings, store: Store, backend: SearchBackend, pdf_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_pdf_notices",
        kind="requirement",
        format="pdf",
        start_urls=[pdf_site.url("/index.html")],
        defaults={"markets": ["EU"], "requirement_type": "labelling", "hs_codes": ["08"]},
        min_items=2,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert set(got) == {
        "Coffee labelling regulation",
        "Avis aux exportateurs : emballage des fruits",
    }
    coffee = got["Coffee labelling regulation"]
    assert coffee.kind == "requirement"
    assert coffee.url == pdf_site.url("/docs/coffee-labelling.pdf")
    assert (coffee.markets, coffee.requirement_type) == (["EU"], "labelling")
    assert coffee.hs_codes == ["090121", "090122"]  # the document's own, not the default
    assert (coffee.published_date, coffee.effective_date) == (
        dt.date(2026, 3, 12),
        dt.date(2027, 1, 1),
    )
    draft = got["Avis aux exportateurs : emballage des fruits"]
    assert draft.hs_codes == ["08"]
    # the about page is not a document and is never fetched
    assert "/about.html" not in pdf_site.requested
    errors = {e["url"]: e["message"] for e in errors_of(store, outcome)}
    assert errors.keys() == {pdf_site.url("/docs/withdrawn.pdf"), pdf_site.url("/not-a-pdf.pdf")}
    assert errors[pdf_site.url("/docs/withdrawn.pdf")] == "HTTP 404"
    assert errors[pdf_site.url("/not-a-pdf.pdf")].startswith(
        "not a PDF document (starts with '<!DOCTYPE html>"
    )
    assert search_ids(store, backend, q="country of roasting") == {coffee.id}
    assert search_ids(store, backend, hs="090121") == {coffee.id}


@pytest.mark.crawl
def test_a_non_pdf_source_fails_and_writes_nothing(
    settings: Settings, store: Store, pdf_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_pdf_broken",
        kind="requirement",
        format="pdf",
        start_urls=[pdf_site.url("/not-a-pdf.pdf")],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.status == "failed"
    assert store.count_records(spec.id) == 0
    (error,) = errors_of(store, outcome)
    assert error["url"] == pdf_site.url("/not-a-pdf.pdf")
    assert error["message"].startswith("not a PDF document")


@pytest.mark.crawl
def test_a_new_version_at_the_same_address_updates_the_record(
    settings: Settings, store: Store, pdf_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_pdf_versions",
        kind="requirement",
        format="pdf",
        start_urls=[pdf_site.url("/docs/coffee-labelling.pdf")],
    )
    first = crawl(settings, store, spec)
    assert first.ok, first.message
    (before,) = records_of(store, spec.id).values()
    revised = make_pdf(
        [["Coffee labelling, revised", "This regulation shall apply from 1 July 2027."]],
        title="Coffee labelling regulation (revised)",
    )
    (pdf_site.root / "docs" / "coffee-labelling.pdf").write_bytes(revised)
    second = crawl(settings, store, spec)
    assert store.get_run(second.run_id).items_changed == 1
    after = store.get_record(before.id)
    assert after is not None and after.title == "Coffee labelling regulation (revised)"
    assert after.kind == "requirement" and after.effective_date == dt.date(2027, 7, 1)
