"""One way to read a source's dates (crawlers/normalise/dates.py `DateReading`): its order and
zone resolved once, a date that is none said why from the same attempt, the settings a format
refuses left out, and curated YAML dates whose month is a word read whatever the order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.normalise.dates import DateRead, DateReading, parse_date, spelled_out
from search_api.domain.sources import parse_source
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import crawl, errors_of, make_spec, records_of
from tests.helpers.sites import SiteServer, serve_site

D = dt.date


def test_the_zone_is_resolved_once_and_an_unknown_one_is_refused() -> None:
    reading = DateReading("DMY", "Africa/Nairobi")
    assert str(reading.zone) == "Africa/Nairobi"
    assert DateReading().zone is None
    with pytest.raises(ValueError, match=r"unknown time zone 'Mars/Olympus' \(an IANA name"):
        DateReading(None, "Mars/Olympus")


@pytest.mark.parametrize(
    ("value", "order", "zone", "expected"),
    [
        ("03/04/2027", "DMY", None, DateRead(D(2027, 4, 3))),
        ("03/04/2027", "MDY", None, DateRead(D(2027, 3, 4))),
        ("2027-03-04T22:30:00Z", None, "Africa/Nairobi", DateRead(D(2027, 3, 5))),
        ("2027-03-04T22:30:00-05:00", None, None, DateRead(D(2027, 3, 4))),
        (
            "03/25/2027",
            "DMY",
            None,
            DateRead(None, "'03/25/2027' is not a date in the source's order DMY"),
        ),
        # the numeric parts of a range's sides, from the same attempt
        (
            "du 03/25/2027 au 03/28/2027",
            "DMY",
            None,
            DateRead(None, "'du 03/25/2027 au 03/28/2027' is not a date in the source's order DMY"),
        ),
        (
            "  25/03/2027 ",
            "MDY",
            None,
            DateRead(None, "'25/03/2027' is not a date in the source's order MDY"),
        ),
        # no date in any order: nothing to say of the order
        ("31/02/2027", "DMY", None, DateRead(None)),
        ("soon", "DMY", None, DateRead(None)),
        # without an order there is no other order to blame
        ("31/02/2027", None, None, DateRead(None)),
        (None, "MDY", "UTC", DateRead(None)),
    ],
)
def test_read_gives_the_date_or_why_not(
    value: object, order: str | None, zone: str | None, expected: DateRead
) -> None:
    assert DateReading(order, zone).read(value) == expected  # type: ignore[arg-type]


def test_moment_keeps_an_instant_as_written_and_says_why_not() -> None:
    reading = DateReading("DMY", "Africa/Nairobi")
    moment, problem = reading.moment("2027-03-04T22:30:00Z")
    assert moment is not None and moment.date == D(2027, 3, 4) and moment.utc and problem is None
    moment, problem = reading.moment("03/25/2027")
    assert moment is None and problem == "'03/25/2027' is not a date in the source's order DMY"
    assert reading.span("03/04/2027 - 05/04/2027") == (D(2027, 4, 3), D(2027, 4, 5))


def test_a_source_reading_leaves_out_what_its_format_refuses() -> None:
    feed = make_spec(
        id="xx_feed",
        kind="requirement",
        format="feed",
        start_urls=["https://notices.example.org/rss"],
        date_order="MDY",
        time_zone="America/New_York",
    )
    assert DateReading.of(feed) == DateReading("MDY", "America/New_York")
    # saved before pdf refused time_zone: kept on the source, never used to read its dates
    pdf = parse_source(
        {
            "id": "xx_old_pdf",
            "name": "Old PDF rules",
            "kind": "requirement",
            "format": "pdf",
            "start_urls": ["https://rules.example.org/rules.pdf"],
            "date_order": "DMY",
            "time_zone": "Africa/Nairobi",
        },
        stored=True,
    )
    assert pdf.time_zone == "Africa/Nairobi"
    assert DateReading.of(pdf) == DateReading("DMY") and DateReading.of(pdf).zone is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 March 2027", True),
        ("March 4, 2027", True),
        ("4 de marzo de 2027", True),
        ("1er mars 2027", True),
        ("Thu, 4 Mar 2027", True),
        ("03/04/2027", False),
        ("2027-03-04", False),
        ("4-6 March 2027", False),  # a range is not one date
        ("March 2027", False),  # no day
        (dt.date(2027, 3, 4), False),
    ],
)
def test_spelled_out_dates_name_their_month(text: object, expected: bool) -> None:
    assert spelled_out(text) is expected


# --------------------------------------------------------------------------- curated YAML

WORDS_YAML = """as_of: 1 February 2027
records:
  - id: english
    title: English rule
    markets: [KE]
    effective_date: 4 March 2027
  - id: american
    title: American rule
    markets: [KE]
    effective_date: "March 4, 2027"
  - id: spanish
    title: Spanish rule
    markets: [KE]
    effective_date: 4 de marzo de 2027
    published_date: 2027-02-20
  - id: french
    title: French rule
    markets: [KE]
    effective_date: 1er mars 2027
"""
NUMERIC_YAML = """records:
  - id: numeric
    title: Numeric rule
    markets: [KE]
    effective_date: "03/04/2027"
  - id: worded
    title: Worded rule
    markets: [KE]
    effective_date: 4 March 2027
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "words"
    root.mkdir()
    (root / "words.yml").write_text(WORDS_YAML, encoding="utf-8")
    (root / "numeric.yml").write_text(NUMERIC_YAML, encoding="utf-8")
    with serve_site(root) as server:
        yield server


@pytest.mark.crawl
@pytest.mark.parametrize("order", [None, "DMY", "MDY", "YMD"])
def test_curated_yaml_reads_a_date_whose_month_is_a_word_whatever_the_order(
    settings: Settings, store: Store, site: SiteServer, order: str | None
) -> None:
    spec = make_spec(
        id=f"xx_curated_words_{(order or 'none').lower()}",
        kind="requirement",
        format="curated",
        start_urls=[site.url("/words.yml")],
        **({"date_order": order} if order else {}),
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert errors_of(store, outcome) == []
    records = records_of(store, spec.id)
    assert sorted(records) == ["American rule", "English rule", "French rule", "Spanish rule"]
    for title in ("American rule", "English rule", "Spanish rule"):
        assert records[title].effective_date == D(2027, 3, 4), title
    assert records["French rule"].effective_date == D(2027, 3, 1)
    assert records["Spanish rule"].published_date == D(2027, 2, 20)
    # the file-wide as_of is read by the same rule
    assert {r.as_of for r in records.values()} == {D(2027, 2, 1)}


@pytest.mark.crawl
def test_curated_yaml_still_refuses_a_numeric_date_without_an_order(
    settings: Settings, store: Store, site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_curated_numeric",
        kind="requirement",
        format="curated",
        start_urls=[site.url("/numeric.yml")],
    )
    outcome = crawl(settings, store, spec)
    assert set(records_of(store, spec.id)) == {"Worded rule"}
    assert records_of(store, spec.id)["Worded rule"].effective_date == D(2027, 3, 4)
    errors = [e["message"] for e in errors_of(store, outcome)]
    said = (
        "record #1: effective_date: '03/04/2027' is not written YYYY-MM-DD: set the source's "
        "date_order (DMY, MDY or YMD) to read it"
    )
    assert any(e.startswith(said) for e in errors), errors
    assert any("numeric: effective_date: Input should be a valid date" in e for e in errors)


@pytest.mark.parametrize(
    ("value", "order", "why"),
    [
        # each side a date in MDY, but the range runs backwards; day first it is a range
        ("du 03/02/2027 au 02/03/2027", "MDY", True),
        # a side no date in MDY, and no range day first either (25 March to 2 January)
        ("du 25/03/2027 au 02/01/2027", "MDY", False),
        ("du 25/03/2027 au 28/03/2027 (TBC)", "MDY", True),
    ],
)
def test_a_range_is_blamed_on_the_order_only_when_no_order_reads_it(
    value: str, order: str, why: bool
) -> None:
    found = DateReading(order).read(value)  # type: ignore[arg-type]
    assert found.date is None
    assert (found.problem is not None) is why, found


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        # dateparser read these day first whatever the order; the order decides, as everywhere
        ("Sa., 25.11.2023", "MDY", None),
        ("Sa., 25.11.2023", "DMY", D(2023, 11, 25)),
        ("Mon 03/25/2027 10am", "DMY", None),
        ("Mon 03/25/2027 10am", "MDY", D(2027, 3, 25)),
        ("le 03/04/2027 à 10h", "MDY", D(2027, 3, 4)),
        ("le 03/04/2027 à 10h", "DMY", D(2027, 4, 3)),
        ("le 03/04/2027 à 10h", None, D(2027, 4, 3)),
        # a range's side out of the order was completed from its parts, day first
        ("du 25/03/2027 au 28/03/2027 (TBC)", "MDY", None),
        ("du 25/03/2027 au 02/01/2027", "MDY", None),
        ("du 25/03/2027 au 28/03/2027 (TBC)", "DMY", D(2027, 3, 25)),
        ("18-20 November 2023", "MDY", D(2023, 11, 18)),
    ],
)
def test_a_date_not_in_the_order_is_never_read_another_way(
    value: str, order: str | None, expected: dt.date | None
) -> None:
    """README: a date that is no date in the source's order is never read another way; it is
    said why, where another order reads it."""
    found = DateReading(order).read(value)  # type: ignore[arg-type]
    assert found.date == expected
    assert parse_date(value, order=order) == expected  # type: ignore[arg-type]
    if expected is None and "02/01" not in value:
        assert found.problem == f"{value!r} is not a date in the source's order {order}"
