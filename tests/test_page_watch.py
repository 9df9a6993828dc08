"""The change watch of curated records' official pages: a loopback site whose page changes,
read by the real watch process (Scrapy + trafilatura), and what the record then says in the
API, on its web page and in its source's health."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from search_api.domain.page_change import MATERIAL_SIMILARITY, changed_materially, similarity
from search_api.services.watch import run_watch
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import crawl, make_spec
from tests.helpers.sites import start_site

pytestmark = pytest.mark.crawl

INTRO = (
    "The Export Credit Guarantee Scheme covers commercial banks that lend working capital to "
    "small and medium exporters against the risk that the exporter fails to repay. "
)
TERMS = (
    "Cover is up to 75 per cent of the loan, for loans of up to USD 1 million and up to 360 "
    "days. Exporters apply through their bank, which sends the application with the export "
    "contract and the latest audited accounts. The premium is 1 per cent a year of the amount "
    "covered, paid by the bank. Claims are paid within 60 days of a default being reported. "
)


def page(body: str, stamp: str = "Page updated 1 November 2026") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    return (
        "<!doctype html><html lang=en><head><title>Export credit guarantee</title></head><body>"
        "<nav><a href=/>Home</a> <a href=/about>About us</a> <a href=/contact>Contact</a></nav>"
        f"<main><article><h1>Export Credit Guarantee Scheme</h1>{paragraphs}</article></main>"
        f"<footer><p>{stamp}</p><p>Cookies help us run this site.</p></footer></body></html>"
    )


def test_similarity_measures_material_change() -> None:
    text = INTRO + TERMS * 3
    assert similarity(text, text) == 1.0
    # reflowed, recased, re-punctuated: the same words
    assert similarity(text, "  " + text.upper().replace(". ", ".\n\n")) == 1.0
    assert changed_materially(text, text.replace("75 per cent", "80 per cent"))[0] is False
    changed, score = changed_materially(
        text, INTRO + "The scheme closed to new applications on 30 June 2027. " * 12
    )
    assert changed and score < MATERIAL_SIMILARITY
    assert similarity(text, "") == 0.0


def test_a_curated_record_says_when_its_official_page_changed(
    tmp_path: Path, settings: Settings, store: Store, client: TestClient
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (root / "private").mkdir()
    (root / "private" / "terms.html").write_text(page(INTRO + "\n" + TERMS))
    programme = root / "guarantee.html"
    programme.write_text(page(INTRO + "\n" + TERMS))
    site, server = start_site(root)
    try:
        records = tmp_path / "finance.yml"

        def write_records(as_of: str) -> None:
            entries = [
                {
                    "id": "ecgs",
                    "title": "Export Credit Guarantee Scheme",
                    "url": site.url("/guarantee.html"),
                    "provider": {"name": "Example Export Credit Agency", "type": "eca"},
                    "instruments": ["working_capital_guarantee"],
                    "as_of": as_of,
                },
                {
                    "id": "private-terms",
                    "title": "Terms behind robots.txt",
                    "url": site.url("/private/terms.html"),
                    "provider": {"name": "Example Export Credit Agency", "type": "eca"},
                    "instruments": ["credit_insurance"],
                    "as_of": as_of,
                },
            ]
            records.write_text(yaml.safe_dump({"records": entries}))

        spec = make_spec(
            id="xx_agency_finance",
            kind="finance",
            format="curated",
            start_urls=[records.as_uri()],
            owner="agency_x",
        )
        write_records("2026-11-01")
        assert crawl(settings, store, spec).ok
        record_id = "xx_agency_finance:ecgs"

        def official_page() -> dict[str, object] | None:
            body = client.get(f"/api/v1/records/{record_id}").json()
            return body["official_page"]

        assert official_page() is None  # not read yet

        counts = run_watch(settings)
        assert counts["records"] == 2 and counts["baseline"] == 1 and counts["error"] == 1
        watched = official_page()
        assert watched is not None
        assert watched["checked_on"] == dt.date.today().isoformat()
        assert watched["changed_on"] is None
        hidden = client.get("/api/v1/records/xx_agency_finance:private-terms").json()
        assert hidden["official_page"]["error"] == "disallowed by robots.txt"
        assert not [r for r in site.requested if r.startswith("/private/")]

        # a new date stamp, menus and spacing: no material change
        programme.write_text(
            page(
                INTRO + "\n\n" + TERMS.replace("75 per cent", "75  per cent"),
                "Page updated 3 December 2026",
            )
        )
        assert run_watch(settings)["unchanged"] == 1
        assert official_page()["changed_on"] is None  # type: ignore[index]

        # the terms were rewritten: the record says so, everywhere
        programme.write_text(
            page(
                INTRO + "\nThe scheme is closed to new applications from 1 January 2027 while the "
                "agency reviews its terms. Existing guarantees run until they expire. A new "
                "scheme with cover of up to 50 per cent for loans of up to USD 250,000 will be "
                "announced on this page."
            )
        )
        assert run_watch(settings)["changed"] == 1
        watched = official_page()
        assert watched is not None and watched["changed_on"] == dt.date.today().isoformat()
        assert isinstance(watched["similarity"], float) and watched["similarity"] < 0.95
        html = client.get(f"/records/{record_id}").text
        assert "The official page changed on" in html
        french = client.get(f"/records/{record_id}?lang=fr").text
        assert "La page officielle a changé le" in french
        health = client.get("/api/v1/sources/xx_agency_finance").json()["health"]
        assert [p["record_id"] for p in health["pages_changed"]] == [record_id]
        # still changed the next day: still the first date it was seen
        assert run_watch(settings)["still_changed"] == 1

        # a curator re-checks the record (a newer as_of): the page as it is now is the baseline
        write_records("2026-12-07")
        assert crawl(settings, store, spec).ok
        assert run_watch(settings)["baseline"] == 1
        assert official_page()["changed_on"] is None  # type: ignore[index]
        health = client.get("/api/v1/sources/xx_agency_finance").json()["health"]
        assert health["pages_changed"] == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_long_lightly_edited_page_is_compared_as_word_by_word() -> None:
    """Word by word, difflib took minutes on such a page (a crawl's timeout ended the watch):
    sentence by sentence first, it is measured in milliseconds, to the same score."""
    import difflib

    from search_api.domain.page_change import words

    sentence = "Cover is up to {n} per cent of the loan for exporters of the {n} sector. "
    before = "".join(sentence.format(n=n) for n in range(1500))  # ~21,000 words
    after = before.replace("sector. Cover", "sector; cover", 30).replace("of the 7", "of a 7")
    score = similarity(before, after)
    assert 0.99 < score < 1.0
    short_a, short_b = before[:3000], after[:3000]
    exact = difflib.SequenceMatcher(None, words(short_a), words(short_b), autojunk=False).ratio()
    assert similarity(short_a, short_b) == pytest.approx(exact, abs=0.005)


def test_the_watch_says_why_a_page_was_not_read_as_crawls_do(
    tmp_path: Path, settings: Settings, store: Store, client: TestClient
) -> None:
    """An official page over the page size limit: the crawler's wording, not Scrapy's."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "huge.html").write_text(page((INTRO + TERMS) * 60))  # ~45 KB
    site, server = start_site(root)
    try:
        records = tmp_path / "finance.yml"
        entry = {
            "id": "huge",
            "title": "A scheme with a very long page",
            "url": site.url("/huge.html"),
            "provider": {"name": "Example Export Credit Agency", "type": "eca"},
            "instruments": ["credit_insurance"],
            "as_of": "2026-11-01",
        }
        records.write_text(yaml.safe_dump({"records": [entry]}))
        spec = make_spec(
            id="xx_agency_huge",
            kind="finance",
            format="curated",
            start_urls=[records.as_uri()],
            owner="agency_x",
        )
        assert crawl(settings, store, spec).ok
        small = settings.model_copy(update={"crawl_max_page_bytes": 10_000})
        counts = run_watch(small)
        assert counts.get("error") == 1, counts
        body = client.get("/api/v1/records/xx_agency_huge:huge").json()
        assert body["official_page"]["error"] == (
            "download cancelled: larger than the page size limit of 10000 bytes"
        )
    finally:
        server.shutdown()
