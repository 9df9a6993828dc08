"""A source's `date_order` and `time_zone` in every format that reads dates (feed, ical,
schema_org, curated YAML and CSV, pdf; html, table and api have their own tests), and refused
where they cannot mean anything (a PDF's time_zone, an iCalendar feed's date_order).

Each format is crawled for real twice over the same documents: with `date_order: DMY` and
`time_zone: Africa/Nairobi` (UTC+3), and with `MDY` (and another zone, or none). The ambiguous
03/04/2027 is 3 April in the first and 4 March in the second; ISO dates are the same in both; a
UTC time late on 4 March is 5 March in Nairobi; a time that says its own zone keeps its date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from crawlers.extract.feed import extract_feed
from crawlers.extract.ical import extract_ical
from crawlers.extract.pdf import extract_pdf, find_dates
from crawlers.extract.schema_org import extract_events
from crawlers.normalise.dates import DateReading
from search_api.cli import CliError, load_source_file
from search_api.domain.source_form import form_fields
from search_api.domain.sources import format_validation_error, parse_source
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in, token
from tests.helpers.formats import crawl, errors_of, make_pdf, make_spec, records_of
from tests.helpers.sites import SiteServer, serve_site
from tests.helpers.sources import auth

D = dt.date
DMY_NAIROBI = {"date_order": "DMY", "time_zone": "Africa/Nairobi"}
NAIROBI = DateReading(None, "Africa/Nairobi")

# --------------------------------------------------------------------------- documents

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Notices</title><link>http://notices.test/</link>
<description>Notices to exporters</description>
<item><title>Ambiguous notice</title><link>http://notices.test/a</link>
  <pubDate>03/04/2027</pubDate></item>
<item><title>ISO notice</title><link>http://notices.test/b</link>
  <pubDate>2027-03-06</pubDate></item>
<item><title>UTC notice</title><link>http://notices.test/c</link>
  <pubDate>Thu, 04 Mar 2027 22:30:00 GMT</pubDate></item>
<item><title>Nairobi notice</title><link>http://notices.test/d</link>
  <pubDate>Fri, 05 Mar 2027 00:30:00 +0300</pubDate></item>
<item><title>Month-first notice</title><link>http://notices.test/e</link>
  <pubDate>03/25/2027</pubDate></item>
</channel></rss>
"""

ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//tradepoint tests//EN",
        "BEGIN:VEVENT",
        "UID:utc@test",
        "SUMMARY:UTC fair",
        "DTSTART:20270304T223000Z",
        "DTEND:20270305T020000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:tzid@test",
        "SUMMARY:TZID fair",
        "DTSTART;TZID=America/New_York:20270304T223000",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:floating@test",
        "SUMMARY:Floating fair",
        "DTSTART:20270304T223000",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:allday@test",
        "SUMMARY:All-day fair",
        "DTSTART;VALUE=DATE:20270306",
        "DTEND;VALUE=DATE:20270308",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)

EVENTS: list[dict[str, Any]] = [
    {"@type": "ExhibitionEvent", "name": "Ambiguous fair", "startDate": "03/04/2027"},
    {"@type": "ExhibitionEvent", "name": "ISO fair", "startDate": "2027-03-06"},
    {"@type": "ExhibitionEvent", "name": "UTC fair", "startDate": "2027-03-04T22:30:00Z"},
    {"@type": "ExhibitionEvent", "name": "Offset fair", "startDate": "2027-03-04T22:30:00-05:00"},
    {"@type": "ExhibitionEvent", "name": "Floating fair", "startDate": "2027-03-04T22:30"},
    {
        "@type": "ExhibitionEvent",
        "name": "Range fair",
        "startDate": "03/04/2027 - 05/04/2027",
    },
    {"@type": "ExhibitionEvent", "name": "Month-first fair", "startDate": "03/25/2027"},
    {
        "@type": "ExhibitionEvent",
        "name": "Month-first end fair",
        "startDate": "2027-03-01",
        "endDate": "03/25/2027",
    },
]
EVENTS_PAGE = (
    "<!doctype html><html lang=en><head><title>Fairs</title>"
    f'<script type="application/ld+json">{json.dumps(EVENTS)}</script></head>'
    # microdata is read the same way
    '<body><div itemscope itemtype="https://schema.org/Event">'
    '<span itemprop="name">Microdata fair</span>'
    '<span itemprop="startDate">04/03/2027</span></div></body></html>'
)

CURATED_YAML = """records:
  - id: ambiguous
    title: Ambiguous rule
    markets: [KE]
    effective_date: "03/04/2027"
    published_date: 2027-03-06
  - id: utc
    title: UTC rule
    markets: [KE]
    published_date: 2027-03-04T22:30:00Z
  - id: month-first
    title: Month-first rule
    markets: [KE]
    effective_date: "03/25/2027"
"""
CURATED_CSV = (
    "id,title,markets,effective_date,published_date\n"
    "csv-ambiguous,Ambiguous CSV rule,KE,03/04/2027,2027-03-06\n"
    "csv-utc,UTC CSV rule,KE,,2027-03-04T22:30:00Z\n"
    "csv-month-first,Month-first CSV rule,KE,03/25/2027,\n"
)

NOTICE_PDF = make_pdf(
    [
        [
            "Notice on the labelling of roasted coffee",
            "Published: 03/04/2027",
            "This notice shall apply from 2027-05-01.",
        ]
    ],
    title="Coffee labelling notice",
)
DEADLINE_PDF = make_pdf(
    [
        [
            "Consultation on packaging of fruit",
            "Published: 4 March 2027",
            "Comments may be sent until 03/25/2027.",
        ]
    ],
    title="Fruit packaging consultation",
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "dated"
    root.mkdir()
    (root / "notices.xml").write_text(RSS, encoding="utf-8")
    (root / "fairs.ics").write_text(ICS, encoding="utf-8")
    (root / "fairs.html").write_text(EVENTS_PAGE, encoding="utf-8")
    (root / "rules.yml").write_text(CURATED_YAML, encoding="utf-8")
    (root / "rules.csv").write_text(CURATED_CSV, encoding="utf-8")
    (root / "notice.pdf").write_bytes(NOTICE_PDF)
    (root / "deadline.pdf").write_bytes(DEADLINE_PDF)
    with serve_site(root) as server:
        yield server


def _crawl_twice(
    settings: Settings,
    store: Store,
    base: dict[str, Any],
    first: dict[str, Any],
    second: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], list[str], list[str]]:
    """Records by title and error messages of two sources that differ only in `first` and
    `second` (their date settings)."""
    out: list[Any] = []
    for suffix, settings_of in (("one", first), ("two", second)):
        spec = make_spec(**{**base, "id": f"{base['id']}_{suffix}", **settings_of})
        outcome = crawl(settings, store, spec)
        assert outcome.ok, outcome.message
        out.append(records_of(store, spec.id))
        out.append([e["message"] for e in errors_of(store, outcome)])
    one, one_errors, two, two_errors = out
    return one, two, one_errors, two_errors


# --------------------------------------------------------------------------- feed


def test_feed_dates_follow_the_source_order_and_zone() -> None:
    body = RSS.encode()
    dmy = extract_feed(
        body, "http://notices.test/rss", "requirement", None, DateReading("DMY", "Africa/Nairobi")
    )
    mdy = extract_feed(body, "http://notices.test/rss", "requirement", None, DateReading("MDY"))
    one = {e["title"]: e["published_date"] for e in dmy.entries}
    two = {e["title"]: e["published_date"] for e in mdy.entries}
    assert (one["Ambiguous notice"], two["Ambiguous notice"]) == (D(2027, 4, 3), D(2027, 3, 4))
    assert one["ISO notice"] == two["ISO notice"] == D(2027, 3, 6)
    assert (one["UTC notice"], two["UTC notice"]) == (D(2027, 3, 5), D(2027, 3, 4))
    # the same instant written with the publisher's own offset: its date as written
    assert one["Nairobi notice"] == D(2027, 3, 5)
    # not in the source's order: left out and said once (feedparser copies pubDate to updated)
    month_first = next(e for e in dmy.entries if e["title"] == "Month-first notice")
    assert month_first["published_date"] is None
    assert month_first["_problems"] == [
        "entry 'Month-first notice': published: '03/25/2027' is not a date in the source's "
        "order DMY; left out"
    ]
    assert two["Month-first notice"] == D(2027, 3, 25)


@pytest.mark.crawl
def test_feed_crawls_in_each_order(settings: Settings, store: Store, site: SiteServer) -> None:
    base = {
        "id": "xx_feed_dated",
        "kind": "requirement",
        "format": "feed",
        "start_urls": [site.url("/notices.xml")],
        "defaults": {"markets": ["KE"]},
    }
    one, two, one_errors, two_errors = _crawl_twice(
        settings, store, base, DMY_NAIROBI, {"date_order": "MDY"}
    )
    assert one["Ambiguous notice"].published_date == D(2027, 4, 3)
    assert two["Ambiguous notice"].published_date == D(2027, 3, 4)
    assert one["ISO notice"].published_date == two["ISO notice"].published_date == D(2027, 3, 6)
    assert one["UTC notice"].published_date == D(2027, 3, 5)
    assert two["UTC notice"].published_date == D(2027, 3, 4)
    # one entry's date in the wrong order costs only that date, and is said
    assert one["Month-first notice"].published_date is None
    assert any("'03/25/2027' is not a date in the source's order DMY" in e for e in one_errors)
    assert two["Month-first notice"].published_date == D(2027, 3, 25)
    assert two_errors == []


# --------------------------------------------------------------------------- ical


def test_ical_utc_times_are_read_in_the_source_zone_and_zoned_or_floating_ones_kept() -> None:
    plain = {e["title"]: e for e in extract_ical(ICS, "http://fairs.test/c.ics").events}
    nairobi_result = extract_ical(ICS, "http://fairs.test/c.ics", reading=NAIROBI)
    nairobi = {e["title"]: e for e in nairobi_result.events}
    # 22:30Z is 17:30 in New York (the calendar's one TZID), 01:30 next day in Nairobi
    assert (plain["UTC fair"]["start_date"], plain["UTC fair"]["end_date"]) == (
        D(2027, 3, 4),
        D(2027, 3, 4),
    )
    assert (nairobi["UTC fair"]["start_date"], nairobi["UTC fair"]["end_date"]) == (
        D(2027, 3, 5),
        D(2027, 3, 5),
    )
    assert any(
        n.rule == "date.utc_local" and "the source's time_zone Africa/Nairobi" in n.message
        for n in nairobi_result.notes
    )
    for title, day in (("TZID fair", D(2027, 3, 4)), ("Floating fair", D(2027, 3, 4))):
        assert plain[title]["start_date"] == nairobi[title]["start_date"] == day
    assert (nairobi["All-day fair"]["start_date"], nairobi["All-day fair"]["end_date"]) == (
        D(2027, 3, 6),
        D(2027, 3, 7),
    )


@pytest.mark.crawl
def test_ical_crawls_in_the_source_zone(settings: Settings, store: Store, site: SiteServer) -> None:
    base = {
        "id": "xx_ical_dated",
        "kind": "fair",
        "format": "ical",
        "start_urls": [site.url("/fairs.ics")],
    }
    one, two, _, _ = _crawl_twice(
        settings, store, base, {"time_zone": "Africa/Nairobi"}, {"time_zone": "America/Los_Angeles"}
    )
    assert one["UTC fair"].start_date == D(2027, 3, 5)
    assert two["UTC fair"].start_date == D(2027, 3, 4)  # 14:30 in Los Angeles
    for title in ("TZID fair", "Floating fair"):
        assert one[title].start_date == two[title].start_date == D(2027, 3, 4)
    assert one["All-day fair"].end_date == two["All-day fair"].end_date == D(2027, 3, 7)


# --------------------------------------------------------------------------- schema.org


def test_schema_org_reads_non_iso_dates_in_the_source_order() -> None:
    url = "http://fairs.test/"
    dmy = extract_events(EVENTS_PAGE, url, reading=DateReading("DMY", "Africa/Nairobi"))
    mdy = extract_events(EVENTS_PAGE, url, reading=DateReading("MDY"))
    one = {e["title"]: (e["start_date"], e["end_date"]) for e in dmy.events}
    two = {e["title"]: (e["start_date"], e["end_date"]) for e in mdy.events}
    assert one["Ambiguous fair"][0] == D(2027, 4, 3) and two["Ambiguous fair"][0] == D(2027, 3, 4)
    assert one["Microdata fair"][0] == D(2027, 3, 4) and two["Microdata fair"][0] == D(2027, 4, 3)
    assert one["Range fair"] == (D(2027, 4, 3), D(2027, 4, 5))
    assert two["Range fair"] == (D(2027, 3, 4), D(2027, 5, 4))
    assert one["ISO fair"][0] == two["ISO fair"][0] == D(2027, 3, 6)
    assert one["UTC fair"][0] == D(2027, 3, 5) and two["UTC fair"][0] == D(2027, 3, 4)
    # a time with its own offset, and one without any, keep the date as written
    for title in ("Offset fair", "Floating fair"):
        assert one[title][0] == two[title][0] == D(2027, 3, 4)
    # a start not in the source's order skips that event, saying why; a bad end only the end
    assert "Month-first fair" not in one and two["Month-first fair"][0] == D(2027, 3, 25)
    assert (
        "event 'Month-first fair' skipped: startDate '03/25/2027' is not a date in the source's "
        "order DMY" in dmy.errors
    )
    assert one["Month-first end fair"] == (D(2027, 3, 1), None)
    assert (
        "event 'Month-first end fair': endDate '03/25/2027' is not a date in the source's order "
        "DMY; left out" in dmy.errors
    )
    assert mdy.errors == []


def test_schema_org_an_event_zone_wins_over_the_source_zone() -> None:
    event = {
        "@type": "Event",
        "name": "Scheduled fair",
        "startDate": "2027-03-04T22:30:00Z",
        "eventSchedule": {"@type": "Schedule", "scheduleTimezone": "America/New_York"},
    }
    page = f'<script type="application/ld+json">{json.dumps(event)}</script>'
    (found,) = extract_events(page, "http://fairs.test/", reading=NAIROBI).events
    assert found["start_date"] == D(2027, 3, 4)


@pytest.mark.crawl
def test_schema_org_crawls_in_each_order(
    settings: Settings, store: Store, site: SiteServer
) -> None:
    base = {
        "id": "xx_schema_dated",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": [site.url("/fairs.html")],
    }
    one, two, one_errors, _ = _crawl_twice(
        settings, store, base, DMY_NAIROBI, {"date_order": "MDY"}
    )
    assert one["Ambiguous fair"].start_date == D(2027, 4, 3)
    assert two["Ambiguous fair"].start_date == D(2027, 3, 4)
    assert one["ISO fair"].start_date == two["ISO fair"].start_date == D(2027, 3, 6)
    assert one["UTC fair"].start_date == D(2027, 3, 5)
    assert two["UTC fair"].start_date == D(2027, 3, 4)
    assert one["Offset fair"].start_date == two["Offset fair"].start_date == D(2027, 3, 4)
    assert "Month-first fair" not in one and two["Month-first fair"].start_date == D(2027, 3, 25)
    assert any(
        "startDate '03/25/2027' is not a date in the source's order DMY" in e for e in one_errors
    )


# --------------------------------------------------------------------------- curated


@pytest.mark.crawl
def test_curated_yaml_and_csv_read_dates_in_the_source_order_and_zone(
    settings: Settings, store: Store, site: SiteServer
) -> None:
    base = {
        "id": "xx_curated_dated",
        "kind": "requirement",
        "format": "curated",
        "start_urls": [site.url("/rules.yml"), site.url("/rules.csv")],
    }
    one, two, one_errors, two_errors = _crawl_twice(
        settings,
        store,
        base,
        DMY_NAIROBI,
        {"date_order": "MDY", "time_zone": "America/New_York"},
    )
    for title in ("Ambiguous rule", "Ambiguous CSV rule"):
        assert one[title].effective_date == D(2027, 4, 3), title
        assert two[title].effective_date == D(2027, 3, 4), title
        assert one[title].published_date == two[title].published_date == D(2027, 3, 6)
    for title in ("UTC rule", "UTC CSV rule"):
        assert one[title].published_date == D(2027, 3, 5), title
        assert two[title].published_date == D(2027, 3, 4), title
    # a hand-kept record with a date in another order fails, naming the field and the order;
    # the others are written
    assert "Month-first rule" not in one and "Month-first CSV rule" not in one
    assert two["Month-first rule"].effective_date == D(2027, 3, 25)
    assert two["Month-first CSV rule"].effective_date == D(2027, 3, 25)
    said = "effective_date: '03/25/2027' is not a date in the source's order DMY"
    assert any(e.startswith("record #3: ") and said in e for e in one_errors), one_errors
    assert any(e.startswith("row 4: ") and said in e for e in one_errors), one_errors
    assert two_errors == []


@pytest.mark.crawl
def test_curated_yaml_without_settings_is_not_guessed_at(
    settings: Settings, store: Store, site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_curated_undated",
        kind="requirement",
        format="curated",
        start_urls=[site.url("/rules.yml")],
    )
    outcome = crawl(settings, store, spec)
    # "03/04/2027" and a time are not dates a hand-kept file may leave to a guess: without the
    # source's date_order and time_zone each such record fails, naming its field
    assert not outcome.ok
    assert records_of(store, spec.id) == {}
    errors = [e["message"] for e in errors_of(store, outcome)]
    for said in (
        "record #1: effective_date: '03/04/2027' is not written YYYY-MM-DD: set the source's "
        "date_order (DMY, MDY or YMD) to read it",
        "ambiguous: effective_date: Input should be a valid date",
        "record #2: published_date: 2027-03-04 22:30:00+00:00 is a time: set the source's "
        "time_zone to read its date",
        "utc: published_date: Datetimes provided to dates should have zero time",
    ):
        assert any(e.startswith(said) for e in errors), (said, errors)


# --------------------------------------------------------------------------- pdf


def test_pdf_dates_follow_the_source_order() -> None:
    text = "Published: 03/04/2027. This notice shall apply from 2027-05-01."
    assert find_dates(text, "DMY")[0] == {
        "published_date": D(2027, 4, 3),
        "effective_date": D(2027, 5, 1),
    }
    assert find_dates(text, "MDY")[0] == {
        "published_date": D(2027, 3, 4),
        "effective_date": D(2027, 5, 1),
    }
    result = extract_pdf(DEADLINE_PDF, "http://docs.test/deadline.pdf", reading=DateReading("DMY"))
    assert result.record is not None
    assert result.record["published_date"] == D(2027, 3, 4)
    assert "comment_deadline" not in result.record
    assert result.errors == [
        "comment_deadline: '03/25/2027' is not a date in the source's order DMY "
        "('Comments may be sent until 03/25/2027'); left out"
    ]


@pytest.mark.crawl
def test_pdf_crawls_in_each_order(settings: Settings, store: Store, site: SiteServer) -> None:
    base = {
        "id": "xx_pdf_dated",
        "kind": "requirement",
        "format": "pdf",
        "start_urls": [site.url("/notice.pdf"), site.url("/deadline.pdf")],
        "defaults": {"markets": ["KE"]},
        "min_items": 2,
    }
    one, two, one_errors, two_errors = _crawl_twice(
        settings, store, base, {"date_order": "DMY"}, {"date_order": "MDY"}
    )
    notice = "Coffee labelling notice"
    assert one[notice].published_date == D(2027, 4, 3)
    assert two[notice].published_date == D(2027, 3, 4)
    assert one[notice].effective_date == two[notice].effective_date == D(2027, 5, 1)
    deadline = "Fruit packaging consultation"
    assert one[deadline].comment_deadline is None
    assert two[deadline].comment_deadline == D(2027, 3, 25)
    assert any("'03/25/2027' is not a date in the source's order DMY" in e for e in one_errors)
    assert two_errors == []


# --------------------------------------------------------------------------- refused


REFUSED = [
    ("pdf", "requirement", "time_zone", "Africa/Nairobi"),
    ("ical", "fair", "date_order", "DMY"),
]


def _source(fmt: str, kind: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": f"xx_{fmt}_refused",
        "name": "Refused setting",
        "kind": kind,
        "format": fmt,
        "start_urls": ["https://docs.example.org/"],
        **kw,
    }


@pytest.mark.parametrize(("fmt", "kind", "setting", "value"), REFUSED)
def test_a_setting_a_format_cannot_use_is_refused_naming_it(
    fmt: str, kind: str, setting: str, value: str
) -> None:
    with pytest.raises(ValidationError) as err:
        parse_source(_source(fmt, kind, **{setting: value}))
    message = format_validation_error(err.value)
    assert message.startswith(f"{setting}: means nothing for format {fmt!r}"), message
    # a source saved before the refusal still loads
    assert getattr(parse_source(_source(fmt, kind, **{setting: value}), stored=True), setting)
    # the other setting is the format's to use
    other = {"time_zone": "Africa/Nairobi"} if setting == "date_order" else {"date_order": "MDY"}
    assert parse_source(_source(fmt, kind, **other))
    # and the agency form does not offer it
    names = [f.name for f in form_fields(fmt, kind)]
    assert setting not in names and next(iter(other)) in names


@pytest.mark.parametrize(("fmt", "kind", "setting", "value"), REFUSED)
def test_the_api_refuses_it_with_a_422(
    client: TestClient, store: Store, fmt: str, kind: str, setting: str, value: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    r = client.post(
        "/api/v1/sources", json=_source(fmt, kind, **{setting: value}), headers=auth(key)
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["message"].startswith(f"{setting}: means nothing for format {fmt!r}")
    assert store.list_sources() == []


@pytest.mark.parametrize(("fmt", "kind", "setting", "value"), REFUSED)
def test_a_source_file_is_refused_naming_it(
    tmp_path: Path, fmt: str, kind: str, setting: str, value: str
) -> None:
    path = tmp_path / "source.yml"
    path.write_text(json.dumps(_source(fmt, kind, **{setting: value})), encoding="utf-8")
    with pytest.raises(CliError) as err:
        load_source_file(path)
    assert f"{setting}: means nothing for format {fmt!r}" in str(err.value)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_agency_form_refuses_it_in_the_pages_language(
    client: TestClient, store: Store, lang: str
) -> None:
    assert sign_in(client, create_key(store, "agency_a", "agency")).status_code == 303
    new = "/agency/sources/new?format=pdf&kind=requirement"
    data = {
        "csrf_token": token(client, new),
        "action": "save",
        "format": "pdf",
        "kind": "requirement",
        "id": "xx_form_pdf",
        "name": "Notices",
        "start_urls": "https://docs.example.org/notices/",
        "min_items": "1",
        "enabled": "1",
        "advanced": "time_zone: Africa/Nairobi\n",
    }
    r = client.post(f"/agency/sources/new?lang={lang}", data=data)
    assert r.status_code == 422
    said = {"en": "This format has no use for this", "fr": "Ce format n’en a pas l’usage"}[lang]
    assert said in r.text and "means nothing for format" in r.text
    assert store.list_sources() == []


@pytest.mark.parametrize("zone", [None, "America/New_York", "Asia/Tokyo"])
def test_a_feed_date_only_feedparser_reads_keeps_its_day_and_invents_none(
    zone: str | None,
) -> None:
    """feedparser reads "2027-03" as 1 March at midnight UTC: no day is written, so none is
    taken; a date it alone reads keeps the day written, whatever the source's zone."""
    items = "".join(
        f"<item><title>{title}</title><link>http://notices.test/{n}</link>"
        f"<pubDate>{when}</pubDate></item>"
        for n, (title, when) in enumerate([("Month only", "2027-03"), ("Day", "2027-03-04")])
    )
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    found = extract_feed(
        body, "http://notices.test/rss", "requirement", None, DateReading(None, zone)
    )
    dates = {e["title"]: e["published_date"] for e in found.entries}
    assert dates == {"Month only": None, "Day": dt.date(2027, 3, 4)}


def test_editing_a_source_saved_with_a_refused_setting_drops_it() -> None:
    """A pdf source saved with time_zone before pdf refused it: its edit form leaves the
    setting out (it never changed what was read), so saving the form is not refused."""
    from search_api.domain.source_form import form_values, source_from_form

    saved = {
        "id": "xx_old_pdf",
        "name": "Old PDF rules",
        "kind": "requirement",
        "format": "pdf",
        "start_urls": ["https://rules.example.org/rules.pdf"],
        "time_zone": "Africa/Nairobi",
        "schedule": "0 4 * * 1",
    }
    values = form_values(saved)
    assert "time_zone" not in str(values.get("advanced") or "")
    data, problems = source_from_form(values)
    assert problems == []
    spec = parse_source(data)
    assert spec.time_zone is None and spec.schedule == "0 4 * * 1"
