"""Files as publishers really publish them: a CSV with a preamble above its header, in
Windows-1252, with US month/day dates (USTDA's events CSV); a JSON API whose venues are a list
of objects and whose URLs lack a scheme (ITA's trade events); a CSV in Korean code page 949.
The real files are read in ../shared/realsources (skipped when absent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.api_server import api_server, file_reply
from tests.helpers.formats import crawl, errors_of, make_spec, records_of
from tests.helpers.sites import REALSOURCES

pytestmark = pytest.mark.crawl


def real_fair_file(name: str) -> Path:
    path = REALSOURCES / "fairs" / name
    if not path.exists():
        pytest.skip(f"real response {name} not found in {REALSOURCES}")
    return path


def test_ustda_csv_with_a_preamble_cp1252_and_us_dates(settings: Settings, store: Store) -> None:
    path = real_fair_file("ustda_trade_events_2014.csv")
    with api_server() as server:
        server.route("/events.csv", file_reply(path, "text/csv"))
        spec = make_spec(
            id="xx_ustda_events",
            kind="fair",
            format="table",
            start_urls=[server.url("/events.csv")],
            date_order="MDY",
            table={
                "encoding": "cp1252",
                "columns": {
                    "event_name": "title",
                    "city1": "city",
                    "venue1": "venue",
                    "registration_link": None,
                    "description": "summary",
                },
            },
        )
        outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert len(got) == 5  # the preamble is not a row, and the header is the real one
    shale = got["China Shale Gas Reverse Trade Mission"]
    assert shale.kind == "fair"
    assert (shale.start_date, shale.end_date) == (dt.date(2014, 6, 23), dt.date(2014, 7, 3))
    assert (shale.city, shale.venue) == ("Washington", "GreatVenue")
    assert shale.url == "http://www.ustda.gov/news/events/2014/EastAsia/China/ChinaShaleGasRTM.asp"
    assert shale.summary and "11-day tour" in shale.summary
    vietnam = got["Vietnam Airport Development and Operations Reverse Trade Mission"]
    assert vietnam.kind == "fair"
    assert (vietnam.start_date, vietnam.end_date) == (dt.date(2014, 7, 22), dt.date(2014, 7, 31))
    # cp1252 bytes read as the publisher wrote them: a dash, not mojibake
    assert "\u2013" in (shale.summary or "") and "Ã" not in (shale.summary or "")
    assert not [e for e in errors_of(store, outcome) if "date" in e["message"]]


def test_ita_json_with_venue_lists_and_scheme_less_urls(settings: Settings, store: Store) -> None:
    path = real_fair_file("ita_trade_events_api_v2_results.json")
    with api_server() as server:
        server.route("/trade_events/search", file_reply(path))
        spec = make_spec(
            id="xx_ita_events",
            kind="fair",
            format="api",
            start_urls=[server.url("/trade_events/search")],
            api={
                "key": "id",
                "fields": {
                    "title": "event_name",
                    "start_date": "start_date",
                    "end_date": "end_date",
                    "summary": "description",
                    "url": "url || registration_link",
                    "venue": "venues[0].venue",
                    "city": "venues[0].city",
                    "country": "venues[0].country",
                    "sectors": "industries",
                },
            },
        )
        outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert len(got) == 4
    boats = got["International Workboat Show (IWS 2013)"]
    assert boats.kind == "fair"
    assert boats.url == "https://www.workboatshow.com/"  # not <API host>/trade_events/www....
    assert (boats.country, boats.city) == ("US", "New Orleans, Louisiana")
    assert boats.start_date == dt.date(2020, 10, 9) and boats.end_date == dt.date(2020, 10, 11)
    israel = got["CS Booth at Israel Medical Device Design & Manufacturing Industry (MDDMI)"]
    assert israel.kind == "fair"
    assert (israel.country, israel.city) == ("IL", "Tel Aviv")
    assert israel.venue == "International Convention Center, Haifa, Israel"
    hospitalar = got["Hospitalar 2014"]
    assert hospitalar.kind == "fair" and hospitalar.country == "BR"
    assert hospitalar.url == "http://www.hospitalar.com/ingles/index.html"


def test_csv_in_code_page_949(settings: Settings, store: Store, tmp_path: Path) -> None:
    rows = (
        "전시회명,시작일,종료일,도시,국가\r\n"
        "서울국제식품산업대전,2027-05-11,2027-05-14,서울,KR\r\n"
        "부산국제수산무역엑스포,2027-11-03,2027-11-05,부산,KR\r\n"
    )
    path = tmp_path / "kotra.csv"
    path.write_bytes(rows.encode("cp949"))
    with api_server() as server:
        server.route("/kotra.csv", file_reply(path, "text/csv"))
        spec = make_spec(
            id="xx_kotra_events",
            kind="fair",
            format="table",
            start_urls=[server.url("/kotra.csv")],
            table={
                "encoding": "cp949",
                "columns": {
                    "전시회명": "title",
                    "시작일": "start_date",
                    "종료일": "end_date",
                    "도시": "city",
                    "국가": "country",
                },
            },
        )
        outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    food = got["서울국제식품산업대전"]
    assert food.kind == "fair" and food.city == "서울" and food.country == "KR"
    assert food.start_date == dt.date(2027, 5, 11)
    assert set(got) == {"서울국제식품산업대전", "부산국제수산무역엑스포"}
