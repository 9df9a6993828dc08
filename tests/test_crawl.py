"""Real Scrapy crawls of a fixture fair site on a loopback HTTP server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from search_api.domain.records import AnyRecord
from search_api.domain.sources import SourceSpec, parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.sites import SITES, SiteServer
from tests.helpers.sources import html_source

EXPECTED = json.loads((SITES / "fairs" / "expected.json").read_text())


def crawl(settings: Settings, store: Store, spec: SourceSpec, replace: bool = False):  # type: ignore[no-untyped-def]
    store.add_source(spec, replace=replace)
    return run_crawl(settings, spec.id, store)


def records_of(store: Store, source_id: str) -> list[AnyRecord]:
    return [r for r in store.iter_records() if r.source_id == source_id]


def as_expected(record: AnyRecord) -> dict[str, object]:
    assert record.kind == "fair"
    return {
        "title": record.title,
        "start_date": str(record.start_date),
        "end_date": str(record.end_date),
        "status": record.status,
        "city": record.city,
        "country": record.country,
        "online": record.online,
        "sectors": record.sectors,
        "path": urlsplit(record.url or "").path,
    }


def normalised(expected: dict[str, object]) -> dict[str, object]:
    # A source that says nothing about status gets the record default, "scheduled".
    out = {**expected, "status": expected["status"] or "scheduled"}
    out.pop("uid", None)
    return out


@pytest.fixture
def crawled(settings: Settings, store: Store, fair_site: SiteServer):  # type: ignore[no-untyped-def]
    outcome = crawl(settings, store, html_source(fair_site))
    assert outcome.ok, outcome.message
    return outcome


@pytest.fixture
def crawled_editable(settings: Settings, store: Store, editable_fair_site: SiteServer):  # type: ignore[no-untyped-def]
    """The same first crawl, of a copy of the site that the test then changes."""
    outcome = crawl(settings, store, html_source(editable_fair_site))
    assert outcome.ok, outcome.message
    return outcome


@pytest.mark.crawl
def test_every_fair_is_extracted_once(crawled, store: Store) -> None:  # type: ignore[no-untyped-def]
    got = sorted(
        (as_expected(r) for r in records_of(store, "xx_fixture_fairs")),
        key=lambda e: str(e["title"]),
    )
    want = sorted((normalised(e) for e in EXPECTED["html"]), key=lambda e: str(e["title"]))
    assert got == want


@pytest.mark.crawl
def test_run_is_recorded_with_pages_counts_and_errors(crawled, store: Store) -> None:  # type: ignore[no-untyped-def]
    run = store.get_run(crawled.run_id)
    assert run.status == "succeeded" and run.finished_at is not None
    assert run.items_new == len(EXPECTED["html"]) and run.items_failed == 0
    # 12 pages: the utm_ twin of agritech.html is recognised before it is fetched.
    assert run.pages == 12
    # The CMS's broken breadcrumb block is repaired, and the run says so in its notes.
    assert not [e for e in run.errors if e["url"].endswith("/fairs/machinery-show.html")]
    repaired = [n for n in run.notes or [] if n["url"].endswith("/fairs/machinery-show.html")]
    assert [n["rule"] for n in repaired] == ["jsonld.repaired"]
    robots = [e for e in run.errors if "/private/" in e["url"]]
    assert robots and robots[0]["message"] == "disallowed by robots.txt"


@pytest.mark.crawl
def test_robots_txt_is_obeyed_and_the_crawler_identifies_itself(
    crawled,
    fair_site: SiteServer,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    assert "/robots.txt" in fair_site.requested
    assert not any(p.startswith("/private/") for p in fair_site.requested)
    assert fair_site.user_agents == {settings.full_user_agent}


@pytest.mark.crawl
def test_hostile_html_is_stored_as_plain_text(crawled, store: Store) -> None:  # type: ignore[no-untyped-def]
    gift = next(r for r in records_of(store, "xx_fixture_fairs") if "Gift" in r.title)
    assert gift.summary and "Handmade gifts" in gift.summary
    for bad in ("<script", "onerror", "javascript:", "<img", "alert("):
        assert bad not in gift.summary


@pytest.mark.crawl
def test_latin1_page_is_decoded(crawled, store: Store) -> None:  # type: ignore[no-untyped-def]
    salon = next(r for r in records_of(store, "xx_fixture_fairs") if "Salon" in r.title)
    assert salon.city == "Besançon" and salon.title == "Salon International de l'Agriculture 2027"


@pytest.mark.crawl
def test_recrawl_updates_a_renamed_event_without_duplicates(
    crawled_editable,
    settings: Settings,
    store: Store,
    editable_fair_site: SiteServer,  # type: ignore[no-untyped-def]
) -> None:
    before = next(r for r in records_of(store, "xx_fixture_fairs") if "Leather" in r.title)
    page = editable_fair_site.page("fairs/leather-expo.html")
    page.write_text(
        page.read_text().replace(
            "Dubai Leather & Footwear Expo 2027", "Dubai Leather, Footwear & Bags Expo 2027"
        )
    )
    outcome = run_crawl(settings, "xx_fixture_fairs", store)
    run = store.get_run(outcome.run_id)
    assert (run.items_new, run.items_changed) == (0, 1)
    after = store.get_record(before.id)
    assert after is not None and after.title == "Dubai Leather, Footwear & Bags Expo 2027"
    assert store.count_records("xx_fixture_fairs") == len(EXPECTED["html"])


@pytest.mark.crawl
def test_recrawl_of_an_unchanged_site_changes_nothing(
    crawled,
    settings: Settings,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    outcome = run_crawl(settings, "xx_fixture_fairs", store)
    run = store.get_run(outcome.run_id)
    assert (run.items_new, run.items_changed, run.items_unchanged) == (0, 0, len(EXPECTED["html"]))
    assert store.count_records("xx_fixture_fairs") == len(EXPECTED["html"])


@pytest.mark.crawl
def test_changed_dates_update_the_same_record(
    crawled_editable,
    settings: Settings,
    store: Store,
    editable_fair_site: SiteServer,  # type: ignore[no-untyped-def]
) -> None:
    before = next(r for r in records_of(store, "xx_fixture_fairs") if "Seafood" in r.title)
    page = editable_fair_site.page("fairs/seafood-show.html")
    page.write_text(page.read_text().replace("2027-10-12", "2027-10-13"))
    outcome = run_crawl(settings, "xx_fixture_fairs", store)
    run = store.get_run(outcome.run_id)
    assert (run.items_new, run.items_changed) == (0, 1)
    after = store.get_record(before.id)
    assert after is not None and str(after.start_date) == "2027-10-13"
    assert after.first_seen == before.first_seen and after.last_changed >= before.last_changed  # type: ignore[operator]
    assert store.count_records("xx_fixture_fairs") == len(EXPECTED["html"])


@pytest.mark.crawl
def test_ical_feed(settings: Settings, store: Store, fair_site: SiteServer) -> None:
    spec = parse_source(
        dict(
            id="xx_fixture_ics",
            name="Fixture feed",
            kind="fair",
            format="ical",
            start_urls=[fair_site.url("/fairs.ics")],
            min_items=3,
        )
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = sorted(
        (as_expected(r) for r in records_of(store, spec.id)), key=lambda e: str(e["title"])
    )
    want = sorted((normalised(e) for e in EXPECTED["ics"]), key=lambda e: str(e["title"]))
    assert got == want
    again = run_crawl(settings, spec.id, store)
    assert store.get_run(again.run_id).items_unchanged == len(EXPECTED["ics"])


@pytest.mark.crawl
def test_too_few_items_fails_and_writes_nothing(
    settings: Settings, store: Store, fair_site: SiteServer
) -> None:
    outcome = crawl(settings, store, html_source(fair_site, min_items=100))
    assert outcome.status == "failed"
    assert "fewer than min_items=100" in (outcome.message or "")
    assert store.count_records() == 0 and store.outbox_size() == 0


@pytest.mark.crawl
def test_broken_source_is_an_error_not_a_crash(
    settings: Settings, store: Store, fair_site: SiteServer
) -> None:
    spec = parse_source(
        dict(
            id="xx_missing",
            name="Gone",
            kind="fair",
            format="schema_org",
            start_urls=[fair_site.url("/nope.html")],
        )
    )
    outcome = crawl(settings, store, spec)
    assert outcome.status == "failed"
    errors = store.get_run(outcome.run_id).errors
    assert errors == [{"url": fair_site.url("/nope.html"), "message": "HTTP 404"}]


@pytest.mark.crawl
def test_curated_file_loads_through_the_pipeline(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "fairs.yml"
    data.write_text("""
as_of: "2026-11-22"
records:
  - {id: good-fair, title: Good Fair, url: "https://good.example.org/", country: KE,
     sectors: [food], usual_month: 3}
  - {id: bad-fair, title: Bad Fair, country: Narnia}
  - {id: "bad id/../x", title: Worse}
""")
    spec = parse_source(
        dict(
            id="xx_curated",
            name="Curated",
            kind="fair",
            format="curated",
            start_urls=[data.as_uri()],
            owner="agency_a",
        )
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok
    run = store.get_run(outcome.run_id)
    assert run.items_new == 1 and run.items_failed == 2
    messages = " | ".join(e["message"] for e in run.errors)
    assert "bad-fair: country: unknown country code 'Narnia' (use ISO 3166-1 alpha-2)" in messages
    assert "id 'bad id/../x' may only contain" in messages
    good = store.get_record("xx_curated:good-fair")
    assert good is not None and str(good.as_of) == "2026-11-22" and good.curated_by == "agency_a"


@pytest.mark.crawl
def test_a_run_stopped_by_its_page_limit_withdraws_nothing(
    crawled,
    settings: Settings,
    store: Store,
    fair_site: SiteServer,  # type: ignore[no-untyped-def]
) -> None:
    # Three runs that stop before the last pages would otherwise withdraw the fairs there.
    store.add_source(
        html_source(fair_site, follow={"allow": ["/fairs/"], "max_pages": 9}, min_items=1),
        replace=True,
    )
    for _ in range(3):
        outcome = run_crawl(settings, "xx_fixture_fairs", store)
        assert outcome.ok and "stopped at a page or time limit" in (outcome.message or "")
    assert not any(r.withdrawn for r in records_of(store, "xx_fixture_fairs"))


@pytest.mark.crawl
def test_a_drop_from_100_to_3_items_fails_and_keeps_the_100(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "fairs.yml"

    def publish(n: int) -> None:
        rows = [{"id": f"fair-{i}", "title": f"Fair {i}", "country": "KE"} for i in range(n)]
        data.write_text(yaml.safe_dump({"as_of": "2026-11-22", "records": rows}))

    spec = parse_source(
        dict(
            id="xx_shrinking",
            name="Shrinking",
            kind="fair",
            format="curated",
            start_urls=[data.as_uri()],
        )
    )
    publish(100)
    assert crawl(settings, store, spec).ok
    before = {r.id: r for r in records_of(store, spec.id)}
    publish(3)
    outcome = run_crawl(settings, spec.id, store)
    assert outcome.status == "failed"
    assert "far fewer than the previous run's 100; nothing changed" in (outcome.message or "")
    after = {r.id: r for r in records_of(store, spec.id)}
    assert after == before  # same records, same provenance, none withdrawn


def test_the_next_list_page_is_fetched_ahead_of_the_detail_pages(settings: Settings) -> None:
    # Fetched after its 50 detail pages, the next list page left one request in flight at the
    # end of every list page: 3-4x slower on a paginated calendar (bench/crawl.py).
    from scrapy.http import HtmlResponse

    from crawlers.collector import RunCollector
    from crawlers.spiders.base import SourceSpider

    spec = parse_source(
        {
            "id": "cal",
            "name": "cal",
            "kind": "fair",
            "format": "schema_org",
            "start_urls": ["http://fairs.test/list-1.html"],
            "follow": {"allow": ["/fair-"]},
        }
    )
    spider = SourceSpider(collector=RunCollector(spec))
    links = "".join(f"<a href='fair-{i}.html'>{i}</a>" for i in range(5))
    body = f"<html><body>{links}<a rel='next' href='list-2.html'>next</a></body></html>"
    response = HtmlResponse("http://fairs.test/list-1.html", body=body.encode(), encoding="utf-8")
    requests = list(spider.parse_page(response))
    priorities = {r.url.rsplit("/", 1)[1]: r.priority for r in requests}
    assert priorities == {"list-2.html": 1, **{f"fair-{i}.html": 0 for i in range(5)}}
