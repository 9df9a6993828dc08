"""iCalendar extraction, run directly on the fixture site's fairs.ics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawlers.extract import EVENT_KEYS, STATUSES, ExtractResult, extract_ical
from crawlers.normalise import SECTORS

SITE = Path(__file__).parent / "fixtures" / "sites" / "fairs"
FEED = "http://fairs.test/fairs.ics"
EXPECTED: list[dict[str, Any]] = json.loads((SITE / "expected.json").read_text(encoding="utf-8"))[
    "ics"
]
D = dt.date


@pytest.fixture(scope="module")
def result() -> ExtractResult:
    return extract_ical((SITE / "fairs.ics").read_bytes(), FEED)


def by_uid(result: ExtractResult, uid: str) -> dict[str, Any]:
    matches = [e for e in result.events if e["uid"] == f"{uid}@fairs.test"]
    assert len(matches) == 1
    return matches[0]


def test_fixture_feed_matches_expected_json(result: ExtractResult) -> None:
    assert result.errors == []
    got = [
        {
            "title": e["title"],
            "start_date": e["start_date"].isoformat(),
            "end_date": e["end_date"].isoformat(),
            "status": e["status"],
            "city": e["city"],
            "country": e["country"],
            "online": e["online"],
            "sectors": e["sectors"],
            "path": urlsplit(e["url"]).path,
            "uid": e["uid"],
        }
        for e in result.events
    ]
    assert got == EXPECTED  # file order is kept
    for event in result.events:
        assert set(event) == {*EVENT_KEYS, "uid"}
        assert event["status"] is None or event["status"] in STATUSES
        assert set(event["sectors"]) <= set(SECTORS)
        assert event["end_date"] >= event["start_date"]


def test_all_day_dtend_is_exclusive(result: ExtractResult) -> None:
    event = by_uid(result, "hannover-packaging-days-2027")  # DTEND;VALUE=DATE:20270313
    assert (event["start_date"], event["end_date"]) == (D(2027, 3, 10), D(2027, 3, 12))
    assert event["status"] == "scheduled"  # STATUS:CONFIRMED
    assert (event["venue"], event["city"], event["country"]) == ("Messe Hannover", "Hannover", "DE")
    assert event["organiser"] == "Hannover Fair Services"
    assert event["url"] == "https://packaging-days.example.com/en/2027/"
    assert event["summary"] == (
        "Three days of packaging machinery, labels and materials. Halls 11-17."
    )
    assert event["categories"] == ["Packaging", "Machinery"]


def test_tzid_times_keep_the_local_date(result: ExtractResult) -> None:
    event = by_uid(result, "nairobi-tea-coffee-2027")
    assert (event["start_date"], event["end_date"]) == (D(2027, 5, 18), D(2027, 5, 20))
    assert event["categories"] == ["Coffee", "Tea", "Agriculture"]  # two CATEGORIES lines
    assert event["url"] == FEED  # no URL property: the feed's URL
    assert event["status"] is None


def test_utc_times_shift_to_the_calendar_zone(result: ExtractResult) -> None:
    # 2027-09-05T23:00Z is 01:00 on the 6th in X-WR-TIMEZONE Europe/Paris
    event = by_uid(result, "paris-fashion-sourcing-2027")
    assert (event["start_date"], event["end_date"]) == (D(2027, 9, 6), D(2027, 9, 7))
    assert event["url"] == "http://fairs.test/fairs/paris-fashion-sourcing.html"  # utm dropped
    assert event["summary"] == "Garment and textile sourcing."  # HTML in DESCRIPTION stripped


def test_cancelled(result: ExtractResult) -> None:
    event = by_uid(result, "dubai-plastics-week-2027")
    assert event["status"] == "cancelled"
    assert (event["city"], event["country"]) == ("Dubai", "AE")
    assert event["sectors"] == ["plastics", "chemicals"]


def test_online_location_and_unmapped(result: ExtractResult) -> None:
    event = by_uid(result, "handicrafts-buyers-meet-2027")
    assert event["online"] is True
    assert (event["venue"], event["city"], event["country"]) == (None, None, None)
    assert (event["start_date"], event["end_date"]) == (D(2027, 12, 1), D(2027, 12, 1))  # no DTEND
    assert event["unmapped"] == ["X-FAIR-HALL"]


def _cal(*lines: str, head: tuple[str, ...] = ()) -> str:
    return (
        "\r\n".join(
            ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", *head, *lines, "END:VCALENDAR"]
        )
        + "\r\n"
    )


def _vevent(*lines: str) -> tuple[str, ...]:
    return ("BEGIN:VEVENT", "UID:u1", "SUMMARY:Fair", *lines, "END:VEVENT")


@pytest.mark.parametrize(
    ("lines", "head", "start", "end"),
    [
        (
            ("DTSTART;VALUE=DATE:20270310", "DTEND;VALUE=DATE:20270311"),
            (),
            D(2027, 3, 10),
            D(2027, 3, 10),
        ),
        (("DTSTART:20270310", "DTEND:20270310"), (), D(2027, 3, 10), D(2027, 3, 10)),
        (("DTSTART;VALUE=DATE:20270310", "DURATION:P3D"), (), D(2027, 3, 10), D(2027, 3, 12)),
        (("DTSTART:20270310T220000", "DURATION:PT4H"), (), D(2027, 3, 10), D(2027, 3, 11)),
        (
            ("DTSTART:20270310T230000Z", "DTEND:20270311T010000Z"),
            (),
            D(2027, 3, 10),
            D(2027, 3, 11),
        ),
        (
            ("DTSTART:20270310T230000Z",),
            ("X-WR-TIMEZONE:Asia/Tokyo",),
            D(2027, 3, 11),
            D(2027, 3, 11),
        ),
        (
            ("DTSTART:20270311T010000Z",),
            ("X-WR-TIMEZONE:America/Chicago",),
            D(2027, 3, 10),
            D(2027, 3, 10),
        ),
        # a TZID nobody defined (no VTIMEZONE, not an IANA name): the date as written
        (("DTSTART;TZID=Mars/Olympus:20270310T233000",), (), D(2027, 3, 10), D(2027, 3, 10)),
        (("DTSTART;TZID=America/Detroit:20270310T233000",), (), D(2027, 3, 10), D(2027, 3, 10)),
        (
            ("DTSTART;VALUE=DATE:20270310", "DTEND;VALUE=DATE:20270301"),
            (),
            D(2027, 3, 10),
            D(2027, 3, 10),
        ),
    ],
)
def test_dates(lines: tuple[str, ...], head: tuple[str, ...], start: dt.date, end: dt.date) -> None:
    result = extract_ical(_cal(*_vevent(*lines), head=head), FEED)
    assert result.errors == []
    assert [(e["start_date"], e["end_date"]) for e in result.events] == [(start, end)]


def test_recurring_event_is_its_first_occurrence() -> None:
    result = extract_ical(
        _cal(*_vevent("DTSTART;VALUE=DATE:20270310", "RRULE:FREQ=YEARLY;COUNT=3")), FEED
    )
    assert [e["start_date"] for e in result.events] == [D(2027, 3, 10)]
    assert result.events[0]["unmapped"] == ["RRULE"]  # visible, not silently expanded


@pytest.mark.parametrize(
    ("summary", "location", "status", "online"),
    [
        ("Board meeting (Virtual)", "", None, True),
        ("Board meeting (Hybrid)", "City Hall", None, False),
        ("Expo (Cancelled)", "", "cancelled", False),
        ("Expo", "https://zoom.example/j/1", None, True),
    ],
)
def test_status_and_online_heuristics(
    summary: str, location: str, status: str | None, online: bool
) -> None:
    lines = ["BEGIN:VEVENT", "UID:x", f"SUMMARY:{summary}", "DTSTART;VALUE=DATE:20270101"]
    if location:
        lines.append(f"LOCATION:{location}")
    event = extract_ical(_cal(*lines, "END:VEVENT"), FEED).events[0]
    assert (event["status"], event["online"]) == (status, online)


def test_us_state_codes_read_with_the_calendar_zone() -> None:
    ics = _cal(
        *_vevent("DTSTART;VALUE=DATE:20270101", "LOCATION:Asheville\\, NC"),
        head=("X-WR-TIMEZONE:America/New_York",),
    )
    event = extract_ical(ics, FEED).events[0]
    assert (event["city"], event["country"]) == ("Asheville", "US")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "empty calendar"),
        (b"this is not a calendar", "broken iCalendar"),
        (b"<html><body>404</body></html>", "broken iCalendar"),
        (b"\xff\xfe\x00\x00garbage\x00", "broken iCalendar"),
        (_cal(*_vevent("DTSTART:2027")), "VEVENT 1 skipped"),
        (_cal(*_vevent("DTSTART:20271345")), "VEVENT 1 skipped"),
        (_cal(*_vevent("DESCRIPTION:no start")), "VEVENT 1 skipped"),
    ],
)
def test_broken_calendars_are_errors(body: bytes | str, error: str) -> None:
    result = extract_ical(body, FEED)
    assert result.events == []
    assert result.errors and result.errors[0].startswith(error)


def test_truncated_calendar_keeps_complete_events() -> None:
    full = (SITE / "fairs.ics").read_text(encoding="utf-8")
    cut = full[: full.index("UID:dubai-plastics-week-2027")]
    result = extract_ical(cut, FEED)
    assert [e["uid"] for e in result.events] == [
        "hannover-packaging-days-2027@fairs.test",
        "nairobi-tea-coffee-2027@fairs.test",
        "paris-fashion-sourcing-2027@fairs.test",
    ]
    assert any("truncated" in err for err in result.errors)


def test_one_bad_vevent_does_not_hide_the_others() -> None:
    ics = _cal(*_vevent("DTSTART:nonsense"), *_vevent("DTSTART;VALUE=DATE:20270101"))
    result = extract_ical(ics, FEED)
    assert len(result.events) == 1
    assert len(result.errors) == 1


def _calendar(header: str, event_url: str = "") -> str:
    url = f"URL:{event_url}\r\n" if event_url else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        f"{header}"
        "BEGIN:VEVENT\r\nUID:a@t\r\nDTSTAMP:20270101T000000Z\r\nDTSTART;VALUE=DATE:20270310\r\n"
        f"SUMMARY:Coffee Expo\r\n{url}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(
    "header",
    [
        "SOURCE;VALUE=URI:https://fairs.example.org/fairs.ics\r\n",  # RFC 7986
        "SOURCE:https://fairs.example.org/fairs.ics\r\n",
    ],
)
def test_a_calendar_that_names_its_own_address_is_known_by_it(header: str) -> None:
    served_at = "http://127.0.0.1:41234/fairs.ics"  # a mirror, a proxy, a loopback copy
    result = extract_ical(_calendar(header), served_at)
    assert result.canonical_url == "https://fairs.example.org/fairs.ics"
    # an event without a URL of its own points at the calendar's address, not at the copy
    assert result.events[0]["url"] == "https://fairs.example.org/fairs.ics"
    own = extract_ical(_calendar(header, "/fairs/coffee.html"), served_at)
    assert own.events[0]["url"] == "https://fairs.example.org/fairs/coffee.html"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "SOURCE:/fairs.ics\r\n",
        "SOURCE:ftp://fairs.example.org/x.ics\r\n",
        "SOURCE: \r\n",
        # WordPress (The Events Calendar) names its site's home page here, not the feed
        "X-ORIGINAL-URL:http://www.glwater.org\r\n",
    ],
)
def test_without_a_usable_own_address_the_calendar_is_known_where_it_was_read(
    header: str,
) -> None:
    result = extract_ical(_calendar(header), "https://cal.example.org/feed.ics")
    assert result.canonical_url is None
    assert result.events[0]["url"] == "https://cal.example.org/feed.ics"
