"""schema.org extraction, run directly on the fixture fair-calendar site."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawlers.extract import EVENT_KEYS, STATUSES, ExtractResult, extract_events
from crawlers.normalise import SECTORS

SITE = Path(__file__).parent / "fixtures" / "sites" / "fairs"
BASE = "http://fairs.test"
EXPECTED: dict[str, Any] = json.loads((SITE / "expected.json").read_text(encoding="utf-8"))

# Which page each expected event lives on (the list pages carry events with no
# page of their own, so their canonical path is the list page).
PAGES = {
    "index.html": 2,
    "page2.html": 2,
    "textile-week.html": 1,
    "packaging-summit.html": 1,
    "salon-agriculture.html": 1,
    "home-gift-show.html": 1,
    "machinery-show.html": 1,
    "leather-expo.html": 1,
    "seafood-show.html": 1,
    "coffee-week.html": 1,
    "agritech.html": 1,
    "gulf-business.html": 1,
}


def extract_page(name: str, url: str | None = None) -> ExtractResult:
    body = (SITE / "fairs" / name).read_bytes()
    return extract_events(body, url or f"{BASE}/fairs/{name}")


def summarise(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": event["title"],
        "start_date": event["start_date"].isoformat(),
        "end_date": event["end_date"].isoformat() if event["end_date"] else None,
        "status": event["status"],
        "city": event["city"],
        "country": event["country"],
        "online": event["online"],
        "sectors": event["sectors"],
        "path": urlsplit(event["url"]).path,
    }


def assert_event_shape(event: dict[str, Any]) -> None:
    assert set(event) == set(EVENT_KEYS)
    assert isinstance(event["title"], str) and event["title"]
    assert isinstance(event["start_date"], dt.date)
    assert event["end_date"] is None or event["end_date"] >= event["start_date"]
    assert event["status"] is None or event["status"] in STATUSES
    assert isinstance(event["online"], bool)
    assert event["country"] is None or (len(event["country"]) == 2 and event["country"].isupper())
    assert event["url"].startswith(("http://", "https://"))
    assert all(isinstance(c, str) for c in event["categories"])
    assert set(event["sectors"]) <= set(SECTORS)
    assert event["unmapped"] == sorted(set(event["unmapped"]))


def test_fixture_site_matches_expected_json() -> None:
    got: list[dict[str, Any]] = []
    for name in PAGES:
        result = extract_page(name)
        for event in result.events:
            assert_event_shape(event)
        got.extend(summarise(e) for e in result.events)
    key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, EXPECTED["html"]))


@pytest.mark.parametrize(("name", "count"), PAGES.items())
def test_event_count_per_page(name: str, count: int) -> None:
    assert len(extract_page(name).events) == count


def by_title(result: ExtractResult, fragment: str) -> dict[str, Any]:
    matches = [e for e in result.events if fragment in (e["title"] or "")]
    assert len(matches) == 1, [e["title"] for e in result.events]
    return matches[0]


def test_list_page_json_ld_array_and_pagination() -> None:
    result = extract_page("index.html")
    assert result.errors == []
    assert result.canonical_url == f"{BASE}/fairs/index.html"
    assert result.next_url == f"{BASE}/fairs/page2.html"
    berlin = by_title(result, "Berlin")
    assert berlin == {
        "title": "Berlin Food & Beverage Fair 2027",
        "summary": "Three days of food & drink suppliers from 40 countries.",
        "url": f"{BASE}/fairs/index.html",
        "start_date": dt.date(2027, 3, 10),
        "end_date": dt.date(2027, 3, 12),
        "status": "scheduled",
        "online": False,
        "venue": "Messe Berlin",
        "city": "Berlin",
        "country": "DE",
        "organiser": "Berlin Fair Services GmbH",
        "language": "en",  # the page's <html lang>
        "categories": ["Food & Beverage", "Organic"],
        "sectors": ["food", "beverages", "organic"],
        "unmapped": [],
    }
    nairobi = by_title(result, "Nairobi")
    assert nairobi["country"] == "KE"
    assert nairobi["organiser"] == "Kenya Agri Exhibitions Ltd"  # organizer as plain string
    assert nairobi["categories"] == ["Agriculture", "Alimentos"]
    assert nairobi["sectors"] == ["agriculture", "food"]
    assert nairobi["status"] is None  # the source does not say
    assert nairobi["unmapped"] == ["offers"]


def test_graph_page_resolves_id_references() -> None:
    result = extract_page("page2.html")
    assert result.next_url is None
    rio = by_title(result, "Rio")
    assert (rio["venue"], rio["city"], rio["country"]) == ("Riocentro", "Rio de Janeiro", "BR")
    lyon = by_title(result, "Lyon")  # "@type": ["Event", "ExhibitionEvent"]
    assert lyon["sectors"] == ["cosmetics", "packaging"]


def test_microdata_exhibition_event() -> None:
    event = by_title(extract_page("textile-week.html"), "Textile")
    assert event["url"] == f"{BASE}/fairs/textile-week.html"
    assert (event["start_date"], event["end_date"]) == (dt.date(2027, 2, 8), dt.date(2027, 2, 10))
    assert (event["venue"], event["city"], event["country"]) == (
        "Paris Expo Porte de Versailles",
        "Paris",
        "FR",
    )
    assert event["organiser"] == "Paris Textile Events SAS"
    assert event["sectors"] == ["textiles", "apparel"]
    assert event["status"] == "scheduled"


def test_rdfa_event() -> None:
    event = by_title(extract_page("packaging-summit.html"), "Packaging Summit")
    assert event["title"] == "São Paulo Packaging Summit 2027"
    assert (event["city"], event["country"]) == ("São Paulo", "BR")
    assert event["sectors"] == ["packaging", "printing"]


def test_iso_8859_1_page_decodes() -> None:
    raw = (SITE / "fairs" / "salon-agriculture.html").read_bytes()
    assert "é".encode("latin-1") in raw and "é".encode() not in raw  # really Latin-1
    event = by_title(extract_page("salon-agriculture.html"), "Agriculture")
    assert event["title"] == "Salon International de l'Agriculture 2027"
    assert event["city"] == "Besançon"
    assert event["summary"].startswith("Élevage, grandes cultures, café")
    assert event["organiser"] == "Comité des Foires de Franche-Comté"
    assert event["categories"] == ["Agriculture", "Café", "Élevage"]
    assert event["sectors"] == ["agriculture", "coffee_tea_cocoa"]
    # an explicit encoding wins over the document's own declaration
    assert extract_events(raw, f"{BASE}/x.html", encoding="iso-8859-1").events[0]["city"] == (
        "Besançon"
    )
    # str input is taken as already decoded
    text = raw.decode("latin-1")
    assert extract_events(text, f"{BASE}/x.html").events[0]["city"] == "Besançon"


def test_hostile_description_is_neutralised() -> None:
    event = by_title(extract_page("home-gift-show.html"), "Chicago")
    summary = event["summary"]
    assert summary == "Handmade gifts, home décor & crafts from 30 countries. Register"
    for bad in ("<script", "onerror", "alert", "javascript", "onclick", "<"):
        assert bad not in summary
    assert (event["city"], event["country"]) == ("Chicago", "US")  # "chicago" + IL + ZIP


def test_broken_json_ld_block_is_repaired_and_said_so() -> None:
    result = extract_page("machinery-show.html")
    assert len(result.events) == 1
    assert result.errors == []
    assert [(n.rule, n.message) for n in result.notes] == [
        (
            "jsonld.repaired",
            "JSON-LD block 1 repaired: Expecting ',' delimiter (line 4, column 3)",
        )
    ]
    event = result.events[0]
    assert (event["city"], event["country"]) == ("Frankfurt am Main", "DE")


def test_cancelled_rescheduled_online() -> None:
    cancelled = extract_page("leather-expo.html").events[0]
    assert cancelled["status"] == "cancelled"
    assert cancelled["sectors"] == ["leather", "footwear"]
    rescheduled = extract_page("seafood-show.html").events[0]
    assert rescheduled["status"] == "rescheduled"
    assert rescheduled["start_date"] == dt.date(2027, 10, 12)
    assert "previousStartDate" in rescheduled["unmapped"]
    assert (rescheduled["city"], rescheduled["country"]) == ("Mombasa", "KE")  # address string
    online = extract_page("coffee-week.html").events[0]
    assert online["online"] is True
    assert (online["venue"], online["city"], online["country"]) == (None, None, None)


def test_same_page_under_two_urls_has_one_canonical_url() -> None:
    plain = extract_page("agritech.html")
    tracked = extract_page(
        "agritech.html", f"{BASE}/fairs/agritech.html?utm_source=newsletter&utm_medium=email"
    )
    assert plain.canonical_url == tracked.canonical_url == f"{BASE}/fairs/agritech.html"
    assert plain.events == tracked.events
    assert plain.events[0]["url"] == f"{BASE}/fairs/agritech.html"


def test_business_event_with_free_text_address() -> None:
    event = extract_page("gulf-business.html").events[0]
    assert (event["city"], event["country"]) == ("Dubai", "AE")
    assert event["organiser"] == "Gulf Interiors Council"
    assert event["sectors"] == ["furniture", "home_decor"]


def test_index_links_the_private_page_and_robots_disallows_it() -> None:
    index = (SITE / "fairs" / "index.html").read_text(encoding="utf-8")
    assert 'href="../private/secret-fair.html"' in index
    assert "agritech.html?utm_source=newsletter" in index
    robots = (SITE / "robots.txt").read_text(encoding="utf-8")
    assert "Disallow: /private/" in robots
    secret = extract_events((SITE / "private" / "secret-fair.html").read_bytes(), f"{BASE}/p")
    assert len(secret.events) == 1  # so a crawl that fetched it would show


def test_countries_cover_the_spread() -> None:
    countries = {e["country"] for e in EXPECTED["html"]}
    assert {"DE", "FR", "AE", "KE", "US", "BR"} <= countries


# ------------------------------------------------------------ robustness


def _page(*blocks: str, body: str = "") -> str:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return f"<html><head>{scripts}</head><body>{body}</body></html>"


EVENT = '{"@context":"https://schema.org","@type":"%s","name":"X Fair","startDate":"2027-05-01"}'


@pytest.mark.parametrize(
    "kind",
    [
        "Event",
        "BusinessEvent",
        "ExhibitionEvent",
        "SaleEvent",
        "MusicEvent",
        "EducationEvent",
        "SocialEvent",
        "https://schema.org/FoodEvent",
        "schema:Event",
    ],
)
def test_event_subtypes(kind: str) -> None:
    result = extract_events(_page(EVENT % kind), "http://h.test/")
    assert [e["title"] for e in result.events] == ["X Fair"]
    # endDate absent: the source does not say how long it lasts
    assert result.events[0]["end_date"] is None


def test_nested_and_typed_list_json_ld() -> None:
    doc = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "ItemList",
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "item": {
                        "@type": ["Thing", "ExhibitionEvent"],
                        "name": "A",
                        "startDate": "2027-01-01",
                        "endDate": "2027-01-03",
                    },
                },
                {"@type": "ListItem", "item": {"@type": "Organization", "name": "Not an event"}},
            ],
        }
    )
    events = extract_events(_page(doc), "http://h.test/").events
    assert [(e["title"], e["end_date"]) for e in events] == [("A", dt.date(2027, 1, 3))]


def test_duplicates_across_syntaxes_are_merged() -> None:
    microdata = (
        '<div itemscope itemtype="https://schema.org/Event"><span itemprop="name">X Fair</span>'
        '<meta itemprop="startDate" content="2027-05-01T10:00">'
        '<meta itemprop="eventStatus" content="https://schema.org/EventPostponed">'
        '<a itemprop="url" href="/x-fair">more</a></div>'
    )
    result = extract_events(_page(EVENT % "Event", body=microdata), "http://h.test/list")
    assert len(result.events) == 1
    assert result.events[0]["status"] == "postponed"  # filled in from the microdata copy
    assert result.events[0]["url"] == "http://h.test/x-fair"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("EventCancelled", "cancelled"),
        ("https://schema.org/EventPostponed", "postponed"),
        ("http://schema.org/EventRescheduled", "rescheduled"),
        ("EventMovedOnline", "moved_online"),
        ("EventScheduled", "scheduled"),
        ("", None),
        ("whatever", None),
    ],
)
def test_event_status(status: str, expected: str | None) -> None:
    doc = json.dumps(
        {"@type": "Event", "name": "X", "startDate": "2027-01-01", "eventStatus": status}
    )
    event = extract_events(_page(doc), "http://h.test/").events[0]
    assert event["status"] == expected
    assert event["online"] is (expected == "moved_online")


def test_title_marks_cancelled_and_virtual() -> None:
    doc = json.dumps(
        [
            {"@type": "Event", "name": "Board Meeting (Cancelled)", "startDate": "2027-01-01"},
            {"@type": "Event", "name": "Buyers Meet (Virtual)", "startDate": "2027-01-02"},
            {
                "@type": "Event",
                "name": "Expo (Hybrid)",
                "startDate": "2027-01-03",
                "eventAttendanceMode": "https://schema.org/MixedEventAttendanceMode",
            },
        ]
    )
    events = extract_events(_page(doc), "http://h.test/").events
    assert [(e["status"], e["online"]) for e in events] == [
        ("cancelled", False),
        (None, True),
        (None, False),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"\x00\x01\x02\xff\xfe" * 500,
        "<html>",
        "<<<<>>>>",
        "\ufeff",
        _page("42"),
        _page('"just a string"'),
        _page("null"),
        _page("[1, 2, [3]]"),
        _page("{"),
        _page('{"@type": "Event"}'),
        _page('{"@type": "Event", "name": "X", "startDate": 5}'),
        _page(
            '{"@type": ["Event", 7], "name": {"a": 1}, "startDate": ["2027-01-01"],'
            ' "location": [null, 3, {"@type": "VirtualLocation"}], "organizer": [[]],'
            ' "keywords": [1, {"name": "Food"}], "url": {"@id": "javascript:x"}}'
        ),
        _page(
            '{"@graph": {"@graph": {"@type": "Event", "name": "X", "startDate": "2027-01-01",'
            ' "location": {"@id": "#nowhere"}}}}'
        ),
        _page("[" * 5000 + "]" * 5000),
        '<?xml version="1.0" encoding="utf-8"?><html></html>',
        "<html><head><link rel=canonical href='javascript:alert(1)'><link rel=next></head></html>",
    ],
)
def test_never_raises(body: bytes | str) -> None:
    result = extract_events(body, "http://h.test/page")
    assert isinstance(result, ExtractResult)
    for event in result.events:
        assert_event_shape(event)


def test_fuzzed_pages_never_raise() -> None:
    rng = random.Random(7)
    source = (SITE / "fairs" / "index.html").read_bytes()
    for _ in range(40):
        data = bytearray(source)
        for _ in range(rng.randint(1, 30)):
            pos = rng.randrange(len(data))
            data[pos] = rng.randrange(256)
        cut = rng.randint(0, len(data))
        result = extract_events(bytes(data[:cut]), "http://h.test/fuzz")
        for event in result.events:
            assert_event_shape(event)


def test_links_come_from_the_same_parse_resolved_against_base() -> None:
    body = (
        b"<html><head><base href='http://other.test/cal/'></head><body>"
        b"<a href='fair-1.html'>one</a><a href=' /fairs/2 '>two</a><a>no href</a>"
        b"<a rel='next' href='?page=2'>next</a></body></html>"
    )
    result = extract_events(body, "http://fairs.test/index.html")
    assert result.links == [
        "http://other.test/cal/fair-1.html",
        "http://other.test/fairs/2",
        "http://other.test/cal/?page=2",
    ]
    assert result.next_url == "http://other.test/cal/?page=2"
