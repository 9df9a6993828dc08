"""The `feed` format (RSS 2.0, Atom): extraction, and real crawls of fixture and real feeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from crawlers.extract.feed import categorise, extract_feed
from crawlers.normalise.urls import canonicalise
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import crawl, errors_of, make_spec, records_of, search_ids
from tests.helpers.sites import REALWORLD, SITES, SiteServer, serve_copy, start_site

FEEDS = SITES / "feed"


@pytest.fixture
def feed_site(tmp_path: Path) -> Iterator[SiteServer]:
    with serve_copy("feed", tmp_path) as site:
        yield site


# --------------------------------------------------------------------------- extraction


def test_categories_become_markets_hs_codes_vocabulary_and_sectors() -> None:
    found = categorise(
        ["Kenya", "HS 19, 20", "Étiquetage", "Food", "Allemagne", "EU", "2027", "Press release"],
        "requirement",
    )
    assert found["markets"] == ["KE", "DE", "EU"]
    assert found["hs_codes"] == ["19", "20"]
    assert found["requirement_type"] == ["labelling"]
    assert found["sectors"] == ["food"]
    # a year is not an HS code, and a word nothing takes is reported, not dropped
    assert found["unmapped"] == ["category: 2027", "category: Press release"]
    finance = categorise(["Credit insurance", "Affacturage", "Ghana"], "finance")
    assert finance["instruments"] == ["credit_insurance", "factoring"]
    assert finance["markets"] == ["GH"]


def test_rss_entry_fields() -> None:
    url = "http://fixture.test/feed/requirements.xml"
    result = extract_feed((FEEDS / "requirements.xml").read_bytes(), url, "requirement")
    assert result.errors == [] and result.version == "rss20"
    first, second, third = result.entries
    assert first["title"] == "Kenya: new labelling rules for prepared foods"
    # relative link resolved, tracking parameter dropped
    assert first["url"] == "http://fixture.test/notices/ke-labelling.html"
    # 23:30 at -05:00 is still the 24th where it was published (UTC would say the 25th)
    assert first["published_date"] == date(2025, 1, 24)
    assert first["summary"] == "Prepared foods must carry Swahili and English labels."
    assert (first["markets"], first["hs_codes"]) == (["KE"], ["19", "20"])
    assert (first["requirement_type"], first["sectors"]) == ("labelling", ["food"])
    assert first["_key"] == "feed:notice-ke-001" and first["language"] == "en"
    assert second["markets"] == ["DE", "FR"] and second["requirement_type"] == "packaging"
    assert second["unmapped"] == ["category: Press release"]
    # no guid: the link is the natural key
    assert third["_key"] == "feed:http://fixture.test/notices/coffee-mrl.html"
    assert third["hs_codes"] == ["0901"]


def test_atom_entries_and_next_page() -> None:
    url = "http://fixture.test/feed/finance.atom"
    result = extract_feed((FEEDS / "finance.atom").read_bytes(), url, "finance")
    assert result.version == "atom10"
    assert result.next_url == "http://fixture.test/feed/finance-page2.atom"
    (entry,) = result.entries
    assert entry["summary"] == "Cover of up to 90% for small exporters."
    assert entry["as_of"] == date(2026, 3, 1) and entry["instruments"] == ["credit_insurance"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not-a-feed.xml", "not an RSS or Atom feed"),
        ("local-file.xml", "not a readable RSS or Atom feed"),
        ("broken.xml", "feed is not well-formed XML"),
    ],
)
def test_broken_feeds_say_why(name: str, message: str) -> None:
    result = extract_feed((FEEDS / name).read_bytes(), f"http://fixture.test/{name}", "fair")
    assert result.errors and result.errors[0].startswith(message), result.errors


def test_a_body_naming_a_local_file_is_never_read_as_that_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(
        '<rss version="2.0"><channel><item><title>SECRET</title></item></channel></rss>'
    )
    result = extract_feed(str(secret).encode(), "http://fixture.test/x.xml", "fair")
    assert result.entries == [] and result.errors


# --------------------------------------------------------------------------- crawls


@pytest.mark.crawl
def test_rss_crawl_defaults_and_search(
    settings: Settings, store: Store, backend: SearchBackend, feed_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_feed_notices",
        kind="requirement",
        format="feed",
        start_urls=[feed_site.url("/requirements.xml")],
        defaults={"markets": ["TZ"], "requirement_type": "sps", "status": "adopted"},
        min_items=3,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert "unmapped: category: Press release" in (outcome.message or "")
    got = records_of(store, spec.id)
    assert len(got) == 3
    kenya = got["Kenya: new labelling rules for prepared foods"]
    assert kenya.kind == "requirement"
    # the feed's own categories win over defaults...
    assert (kenya.markets, kenya.requirement_type, kenya.hs_codes) == (
        ["KE"],
        "labelling",
        ["19", "20"],
    )
    assert kenya.url == feed_site.url("/notices/ke-labelling.html")
    assert kenya.source_url == feed_site.url("/requirements.xml")
    for bad in ("<script", "alert(", "onerror", "<img"):
        assert bad not in (kenya.summary or "")
    # ...and defaults fill what it does not say
    coffee = got["Coffee: maximum residue limits"]
    assert (coffee.markets, coffee.requirement_type, coffee.status) == (["TZ"], "sps", "adopted")
    assert coffee.hs_codes == ["0901"]
    ids = search_ids(store, backend, q="labelling prepared foods")
    assert kenya.id in ids
    assert search_ids(store, backend, hs="090111") >= {coffee.id}
    assert search_ids(store, backend, markets=("FR",)) == {
        got["Germany and France: packaging waste registration"].id
    }
    again = crawl(settings, store, spec)
    assert store.get_run(again.run_id).items_unchanged == 3


@pytest.mark.crawl
def test_atom_crawl_follows_next_pages(
    settings: Settings, store: Store, backend: SearchBackend, feed_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_feed_finance",
        kind="finance",
        format="feed",
        start_urls=[feed_site.url("/finance.atom")],
        defaults={"provider": {"name": "Fixture Bank", "type": "commercial_bank"}},
        min_items=2,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert set(got) == {
        "Credit insurance for first-time exporters",
        "Factoring through partner banks",
    }
    factoring = got["Factoring through partner banks"]
    assert factoring.kind == "finance"
    assert (factoring.instruments, factoring.markets) == (["factoring"], [])
    assert factoring.provider is not None and factoring.provider.name == "Fixture Bank"
    # a country named by a finance item is its provider's (a market would be a destination)
    assert factoring.provider.country == "CI"
    assert "/finance-page2.atom" in feed_site.requested
    assert search_ids(store, backend, q="receivables") == {factoring.id}


@pytest.mark.crawl
def test_malformed_feed_keeps_readable_entries_and_records_errors(
    settings: Settings, store: Store, feed_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_feed_broken",
        kind="requirement",
        format="feed",
        start_urls=[feed_site.url("/broken.xml"), feed_site.url("/not-a-feed.xml")],
        min_items=1,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert set(records_of(store, spec.id)) == {
        "Uganda: certificate of origin form updated",
        "Tanzania: fumigation certificates & stamps",
    }
    run = store.get_run(outcome.run_id)
    assert run.items_failed == 1  # the truncated entry
    by_url: dict[str, list[str]] = {}
    for error in errors_of(store, outcome):
        by_url.setdefault(error["url"], []).append(error["message"])
    broken = by_url[feed_site.url("/broken.xml")]
    assert any(m.startswith("feed is not well-formed XML") for m in broken)
    assert any("entry #3 has neither a title" in m for m in broken)
    assert by_url[feed_site.url("/not-a-feed.xml")] == [
        "not an RSS or Atom feed (no channel or feed element)"
    ]


@pytest.mark.crawl
def test_a_source_of_only_broken_feeds_fails_and_writes_nothing(
    settings: Settings, store: Store, feed_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_feed_dead",
        kind="fair",
        format="feed",
        start_urls=[feed_site.url("/not-a-feed.xml"), feed_site.url("/local-file.xml")],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.status == "failed"
    assert store.count_records(spec.id) == 0
    assert {e["url"] for e in errors_of(store, outcome)} == {
        feed_site.url("/not-a-feed.xml"),
        feed_site.url("/local-file.xml"),
    }


# --------------------------------------------------------------------------- real feeds


CORPUS = REALWORLD
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "expected.json").is_file(), reason=f"realworld corpus not found at {CORPUS}"
)


def _expected_feeds() -> dict[str, dict[str, Any]]:
    return json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))["feeds"]


@needs_corpus
def test_real_feeds_extract_as_expected() -> None:
    expected = _expected_feeds()
    on_disk = sorted(p.name for p in (CORPUS / "feeds").iterdir() if p.is_file())
    assert sorted(expected) == on_disk
    for name, want in expected.items():
        body = (CORPUS / "feeds" / name).read_bytes()
        result = extract_feed(body, f"http://corpus.test/feeds/{name}", "requirement")
        assert result.errors == [], name
        assert len(result.entries) == want["items"], name
        assert result.entries[0]["title"] == want["first_title"], name
        assert result.entries[0]["url"] == canonicalise(want["first_link"]), name


@pytest.mark.crawl
@needs_corpus
def test_real_feeds_crawl_to_searchable_records(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    site, server = start_site(CORPUS)
    try:
        for n, (name, want) in enumerate(sorted(_expected_feeds().items())):
            spec = make_spec(
                id=f"xx_real_feed_{n}",
                kind="requirement",
                format="feed",
                start_urls=[site.url(f"/feeds/{name}")],
                defaults={"markets": ["US"], "requirement_type": "documentation"},
            )
            outcome = crawl(settings, store, spec)
            assert outcome.ok, f"{name}: {outcome.message}"
            got = [r for r in store.iter_records() if r.source_id == spec.id]
            assert len(got) == want["items"], name
            first = next(r for r in got if r.url == canonicalise(want["first_link"]))
            assert first.title == want["first_title"], name
            words = " ".join(want["first_title"].split()[:5])
            assert first.id in search_ids(store, backend, q=words), name
    finally:
        server.shutdown()
        server.server_close()
