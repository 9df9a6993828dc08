"""Extractors against pages and calendars written the ways real sites write them
(tests/fixtures/wild, one or more files per class of failure; see its README): every event with
the right dates, country, status and online flag, no other, and a note for every value that was
repaired or inferred."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from crawlers.extract import ExtractResult, extract_events, extract_ical
from tests.helpers.wild import EXPECTED, WILD

FILES = [(kind, p.name) for kind in ("html", "ics") for p in sorted((WILD / kind).iterdir())]


def extract(kind: str, name: str) -> ExtractResult:
    body = (WILD / kind / name).read_bytes()
    url = f"http://corpus.test/{kind}/{name}"
    return extract_ical(body, url) if kind == "ics" else extract_events(body, url)


def comparable(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "name": event["title"],
            "start_date": event["start_date"].isoformat(),
            "end_date": event["end_date"].isoformat() if event["end_date"] else None,
            "country": event["country"],
            "city": event["city"],
            "status": event["status"],
            "online": event["online"],
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def test_every_file_has_expectations() -> None:
    for kind in ("html", "ics"):
        assert sorted(EXPECTED[kind]) == sorted(n for k, n in FILES if k == kind)


@pytest.mark.parametrize(("kind", "name"), FILES, ids=[f"{k}/{n}" for k, n in FILES])
def test_events_notes_and_errors_are_as_expected(kind: str, name: str) -> None:
    result = extract(kind, name)
    got = Counter(comparable(e) for e in result.events)
    want = Counter(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in EXPECTED[kind][name])
    assert got == want, (
        f"unexpected: {sorted((got - want).elements())}\n"
        f"missing: {sorted((want - got).elements())}\nerrors: {result.errors}"
    )
    assert sorted({n.rule for n in result.notes}) == EXPECTED["note_rules"][kind][name]
    assert result.errors == EXPECTED["errors"][kind][name]


def test_a_malformed_vtimezone_costs_only_itself() -> None:
    result = extract("ics", "springfield_dda_board.ics")
    assert len(result.events) == 6
    dropped = [n.message for n in result.notes if n.rule == "ical.vtimezone_dropped"]
    assert dropped and "UTC, America/Chicago" in dropped[0]
    # HTML fragments as UIDs are kept as they are: they still tell the events apart.
    assert result.events[0]["uid"].startswith('<a href="https://dda.example.gov/meetings/101">')


def test_a_utc_time_is_read_in_the_calendar_zone_and_said_so() -> None:
    result = extract("ics", "springfield_dda_board.ics")
    budget = next(e for e in result.events if e["title"] == "Budget Hearing")
    # TZID=UTC 01:30 on 2 April is the evening of 1 April in Chicago.
    assert str(budget["start_date"]) == "2024-04-01"
    notes = [n.message for n in result.notes if n.rule == "date.utc_local"]
    assert notes == [
        "VEVENT 'Budget Hearing': DTSTART date 2024-04-01 is the local date of the UTC time "
        "2024-04-02T01:30Z, read in the calendar's time zone America/Chicago"
    ]


def test_a_cancelled_occurrence_is_an_event_of_its_own() -> None:
    result = extract("ics", "camara_agenda_floating.ics")
    series = [e for e in result.events if e["title"] == "Asesoría exportadora"]
    assert [(str(e["start_date"]), e["status"]) for e in series] == [
        ("2024-06-04", None),
        ("2024-06-18", "cancelled"),
    ]
    assert series[0]["uid"] != series[1]["uid"]


def test_repaired_json_ld_is_said_per_block_and_a_cut_off_event_is_not_invented() -> None:
    result = extract("html", "kc_chamber_broken_jsonld.html")
    repaired = [n.message for n in result.notes if n.rule == "jsonld.repaired"]
    assert [m.split(":")[0] for m in repaired] == [
        f"JSON-LD block {n} repaired" for n in (1, 2, 3, 4, 5, 6, 7, 8)
    ]
    assert "HTML-escaped JSON" in repaired[3]
    assert "several JSON values" in repaired[4]
    assert not any(e["title"].startswith("Seafood") for e in result.events)


def test_inferred_countries_name_their_rule_and_evidence() -> None:
    result = extract("html", "north_america_addresses.html")
    messages = {n.message for n in result.notes}
    assert "event 'Regional Export Council': country US inferred from 'OR 97204'" in messages
    assert "event 'Akron Manufacturers Mixer': country US inferred from 'Ohio'" in messages
    assert "event 'Halifax Ocean Exports': country CA inferred from 'B3J 0E1'" in messages
    page = extract("html", "sachsen_ihk_microdata.html")
    assert "event 'Dresdner Exporttag': country DE inferred from '01067 (geo.region DE-SN)'" in {
        n.message for n in page.notes
    }


def test_a_name_that_contains_a_status_word_is_not_a_status() -> None:
    events = {e["title"]: e for e in extract("html", "status_in_titles.html").events}
    assert events["Cancellation insurance seminar"]["status"] == "scheduled"
    assert events["Online Marketing Days"]["online"] is False
    # the title is kept as written, marker included
    assert events["DDA Regular Board Meeting – Cancelled"]["status"] == "cancelled"


def test_one_event_in_two_syntaxes_is_one_event() -> None:
    result = extract("html", "fiere_two_syntaxes.html")
    assert [e["title"] for e in result.events] == [
        "Textile Sourcing Week",
        "Olive Oil & Wine Days",
        "Marble & Stone Fair",
    ]
    olive = result.events[1]
    assert olive["organiser"] == "Veronafiere"  # the microdata copy adds what JSON-LD lacks
