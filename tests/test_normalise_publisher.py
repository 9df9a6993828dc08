"""Dates and URLs as their publisher means them: a source's date order and time zone, and
scheme-less URLs (crawlers/normalise/dates.py, urls.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.normalise.dates import local_date, parse_date, parse_instant, time_zone
from crawlers.normalise.urls import canonicalise, with_scheme

D = dt.date


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("7/3/2014", "MDY", D(2014, 7, 3)),  # a US source: 3 July
        ("7/3/2014", "DMY", D(2014, 3, 7)),
        ("7/3/2014", None, D(2014, 3, 7)),  # no order stated: day first
        ("09/16/2019", None, D(2019, 9, 16)),  # day first impossible
        ("12/31/2026", "MDY", D(2026, 12, 31)),
        ("31/12/2026", "MDY", None),  # impossible in the stated order: not read another way
        ("31.12.2026", "DMY", D(2026, 12, 31)),
        ("2026-12-31", "MDY", D(2026, 12, 31)),  # ISO is ISO whatever the order
        ("June 23, 2014", "MDY", D(2014, 6, 23)),
    ],
)
def test_a_source_says_how_it_orders_numeric_dates(
    text: str, order: str | None, expected: dt.date | None
) -> None:
    assert parse_date(text, order=order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # regulations.gov: 23:59:59 Eastern on 9 February, written in UTC
        ("2021-02-10T04:59:59Z", "America/New_York", D(2021, 2, 9)),
        ("2021-02-10T04:59:59Z", None, D(2021, 2, 10)),  # no zone: the date as written
        ("2021-02-10T04:59:59.000Z", "America/New_York", D(2021, 2, 9)),
        ("2021-02-10T04:59:59+00:00", "America/New_York", D(2021, 2, 9)),
        ("2021-02-10T23:30:00-05:00", "Europe/Paris", D(2021, 2, 11)),
        ("Wed, 10 Feb 2021 04:59:59 GMT", "America/New_York", D(2021, 2, 9)),
        ("Wed, 10 Feb 2021 04:59:59 +0000", "America/New_York", D(2021, 2, 9)),
        # a time without an offset names no instant: nothing to move
        ("2021-02-10T04:59:59", "America/New_York", D(2021, 2, 10)),
        ("2021-02-10", "America/New_York", D(2021, 2, 10)),
        ("2021-02-10T04:59:59Z", "Not/AZone", None),  # never raises
    ],
)
def test_a_source_says_which_time_zone_its_instants_mean(
    text: str, tz: str | None, expected: dt.date | None
) -> None:
    assert parse_date(text, tz=tz) == expected


def test_instants_and_local_dates() -> None:
    instant = parse_instant("2021-02-10T04:59:59Z")
    assert instant == dt.datetime(2021, 2, 10, 4, 59, 59, tzinfo=dt.UTC)
    assert local_date(instant, "America/New_York") == D(2021, 2, 9)
    assert local_date(instant, time_zone("Asia/Tokyo")) == D(2021, 2, 10)
    assert parse_instant("2021-02-10") is None
    assert parse_instant("not a date") is None
    aware = dt.datetime(2021, 2, 10, 4, 59, tzinfo=dt.UTC)
    assert parse_date(aware, tz="America/New_York") == D(2021, 2, 9)
    with pytest.raises(ValueError, match="unknown time zone"):
        time_zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("www.workboatshow.com", "https://www.workboatshow.com/"),
        ("www.workboatshow.com/exhibit", "https://www.workboatshow.com/exhibit"),
        ("expo.co.ke/2027", "https://expo.co.ke/2027"),
        ("gulfood.com", "https://gulfood.com/"),
        ("//cdn.example.org/x", "https://cdn.example.org/x"),
        ("http://www.example.org/a", "http://www.example.org/a"),
        # relative links stay relative to their page
        ("fair.html", "https://host.example/dir/fair.html"),
        ("readme.md", "https://host.example/dir/readme.md"),
        ("fairs/2027", "https://host.example/dir/fairs/2027"),
        ("/fairs/2027", "https://host.example/fairs/2027"),
        ("../index.php?id=3", "https://host.example/index.php?id=3"),
        ("mailto:info@example.org", None),
    ],
)
def test_scheme_less_urls_are_not_joined_to_the_page(href: str, expected: str | None) -> None:
    assert canonicalise(href, "https://host.example/dir/page.html") == expected


def test_with_scheme_leaves_what_is_not_a_host_alone() -> None:
    assert with_scheme("www.x.org") == "https://www.x.org"
    assert with_scheme("x.org:8080/a") == "https://x.org:8080/a"
    for text in ("", "fair.html", "notes.txt", "a/b", "#top", "?page=2", "tel:+254", "x.nosuchtld"):
        assert with_scheme(text) == text
    assert canonicalise("www.workboatshow.com") == "https://www.workboatshow.com/"


def test_a_link_elements_target_is_joined_to_its_page_as_a_browser_does() -> None:
    page = "https://host.example/dir/page.html"
    # a data field's "agenda.info" is a site; a link's is a page next to this one
    assert canonicalise("agenda.info", page) == "https://agenda.info/"
    assert canonicalise("agenda.info", page, href=True) == "https://host.example/dir/agenda.info"
    assert canonicalise("//cdn.example/x", page, href=True) == "https://cdn.example/x"


ORDERS = st.sampled_from([None, "DMY", "MDY", "YMD"])
ZONES = st.sampled_from([None, "UTC", "America/New_York", "Asia/Kolkata", "Nowhere/Zone"])


@given(st.text(max_size=60), ORDERS, ZONES)
def test_parse_date_with_an_order_and_a_zone_never_raises(
    text: str, order: str | None, tz: str | None
) -> None:
    result = parse_date(text, order=order, tz=tz)  # type: ignore[arg-type]
    assert result is None or isinstance(result, dt.date)


@given(st.text(max_size=80))
def test_with_scheme_is_idempotent_and_total(text: str) -> None:
    once = with_scheme(text)
    assert with_scheme(once) == once
