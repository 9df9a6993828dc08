"""Normalisers: dates, countries, URLs, text, sectors (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest

from crawlers.normalise import (
    SECTORS,
    canonicalise,
    clean_text,
    country_name,
    map_sectors,
    parse_date,
    split_location,
    to_country,
)
from crawlers.normalise.countries import country_from_timezone

D = dt.date

# Seeded so that a failure reproduces; wide enough to hit odd code paths.
_RNG = random.Random(20270310)
_ALPHABET = string.printable + "éèçñßüÀ€“”…\u200b\ufeff<>&;#%/:?=\x00\x7f"
GARBAGE: list[object] = [
    None,
    "",
    " ",
    "\x00",
    "\ufffd",
    0,
    -1,
    3.5,
    float("nan"),
    True,
    b"\xff\xfe",
    [],
    {},
    (),
    object(),
    ["2019-01-01"],
    {"@value": None},
    "<<<>>>",
    "&&&;",
    "%%%",
    "http://",
    "://",
    "2019-13-45",
    "99999-01-01",
    "T" * 10_000,
    "🎪" * 50,
    *("".join(_RNG.choice(_ALPHABET) for _ in range(_RNG.randint(1, 80))) for _ in range(300)),
]


# ------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-09-16", D(2019, 9, 16)),
        ("2019-09-16T18:00:00-05:00", D(2019, 9, 16)),  # local date, not UTC (17th)
        ("2019-09-16T23:30:00+09:00", D(2019, 9, 16)),
        ("2017-06-10T19:30:00-0400", D(2017, 6, 10)),
        ("2019-09-16T14:30", D(2019, 9, 16)),
        ("2019-09-16T23:00:00Z", D(2019, 9, 16)),
        ("2019-9-13T10:00", D(2019, 9, 13)),  # EventON: no zero padding
        ("2019-9-13T10-10-00-00", D(2019, 9, 13)),  # EventON: garbage time part
        ("20270310", D(2027, 3, 10)),
        ("20270310T090000Z", D(2027, 3, 10)),
        ("2027/03/10", D(2027, 3, 10)),
        ("16 September 2019", D(2019, 9, 16)),
        ("Sept 16, 2019", D(2019, 9, 16)),
        ("September 16th, 2019", D(2019, 9, 16)),
        ("Mon, 16 Sep 2019 18:00", D(2019, 9, 16)),
        ("Wednesday, November 4, 2026 at 6:00 PM", D(2026, 11, 4)),
        ("16.09.2019", D(2019, 9, 16)),
        ("16/09/2019", D(2019, 9, 16)),
        ("09/16/2019", D(2019, 9, 16)),  # day-first impossible: read as US
        ("1er mars 2027", D(2027, 3, 1)),
        ("27 février 2027", D(2027, 2, 27)),
        ("16 de septiembre de 2019", D(2019, 9, 16)),
        (D(2027, 1, 2), D(2027, 1, 2)),
        (
            dt.datetime(2027, 1, 2, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
            D(2027, 1, 2),
        ),
        (["", "2027-01-02", "2027-01-03"], D(2027, 1, 2)),
        ({"@value": "2027-01-02"}, D(2027, 1, 2)),
        (b"2027-01-02", D(2027, 1, 2)),
    ],
)
def test_parse_date(value: object, expected: dt.date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "2019-02-30",
        "1899-12-31",
        "2101-01-01",
        "0000-00-00",
        "16 17 September 2019",
        "September 2019",
        "Opening soon, see you in 2027 with 12 halls",
        "12:30",
        "tomorrow",
        dt.date(1850, 1, 1),
        1568592000,
        True,
    ],
)
def test_parse_date_rejects(value: object) -> None:
    assert parse_date(value) is None


def test_parse_date_never_raises() -> None:
    for value in GARBAGE:
        result = parse_date(value)
        assert result is None or (isinstance(result, dt.date) and 1900 <= result.year <= 2100)


# --------------------------------------------------------------- countries


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("fra", "FR"),
        ("Germany", "DE"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("Deutschland", "DE"),
        ("France", "FR"),
        ("Brazil", "BR"),
        ("Brésil", "BR"),
        ("Brasil", "BR"),
        ("Kenya", "KE"),
        ("États-Unis", "US"),
        ("Estados Unidos", "US"),
        ("Émirats arabes unis", "AE"),
        ("Emiratos Árabes Unidos", "AE"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Russia", "RU"),
        ("South Korea", "KR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Ivory Coast", "CI"),
        ("Côte d'Ivoire", "CI"),
        ("Czech Republic", "CZ"),
        ("Vietnam", "VN"),
        ("Iran", "IR"),
        ("UAE", "AE"),
        ("Holland", "NL"),
        ("  kenya  ", "KE"),
        ({"@type": "Country", "name": "France"}, "FR"),
        ({"@type": "PostalAddress", "addressCountry": "Kenya"}, "KE"),
        (
            {"@type": "PostalAddress", "addressCountry": {"@type": "Country", "name": "Brasil"}},
            "BR",
        ),
        ({"@type": "Place", "address": {"@type": "PostalAddress", "addressCountry": "DE"}}, "DE"),
        ({"addressLocality": "chicago", "addressRegion": "il", "postalCode": "60626"}, "US"),
        (["", None, "Kenya"], "KE"),
        ("Sheikh Zayed Road, Dubai, United Arab Emirates", "AE"),
        ("Messe Frankfurt, Ludwig-Erhard-Anlage 1, 60327 Frankfurt am Main, Germany", "DE"),
        ("Chicago, IL 60601", "US"),
        ("Edgewood Country Club, 100 Churchill Rd, Pittsburgh, PA 15235, USA", "US"),
        ("735 Randolph, 5th Floor Board Room, Detroit,, MI, 48226", "US"),
        ("Austin, TX", "US"),  # TX is no country code: unambiguous
    ],
)
def test_to_country(value: object, expected: str) -> None:
    assert to_country(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Atlantis",
        "Invitation Only",
        "69 W Washington St.",
        "XX",
        "ZZZ",
        42,
        None,
        {},
        [],
        {"@type": "PostalAddress", "addressLocality": "Paris"},
    ],
)
def test_to_country_unknown(value: object) -> None:
    assert to_country(value) is None


def test_to_country_ambiguous_state_codes_need_a_hint() -> None:
    # "IN" is India and Indiana, "NC" New Caledonia and North Carolina: only a
    # US hint (e.g. an America/* calendar time zone) or a ZIP code settles it.
    assert to_country("Bloomington, IN") is None
    assert to_country("Bloomington, IN", hint="US") == "US"
    assert to_country("Asheville, NC", hint="US") == "US"
    assert to_country("Spencer, IN, 47460") == "US"
    assert to_country("Frankfurt, DE", hint="DE") == "DE"
    assert to_country("IN") == "IN"  # a bare code is a country code


@pytest.mark.parametrize(
    ("text", "venue", "city", "country"),
    [
        (
            "Messe Frankfurt, Frankfurt am Main, Germany",
            "Messe Frankfurt",
            "Frankfurt am Main",
            "DE",
        ),
        ("Sheikh Zayed Road, Dubai, United Arab Emirates", "Sheikh Zayed Road", "Dubai", "AE"),
        ("KICC, Nairobi, Kenya", "KICC", "Nairobi", "KE"),
        (
            "Paris Expo, 1 Place de la Porte de Versailles, 75015 Paris, France",
            "Paris Expo",
            "Paris",
            "FR",
        ),
        (
            "Monroe Convention Center, 302 S College Ave, Bloomington, IN 47403",
            "Monroe Convention Center",
            "Bloomington",
            "US",
        ),
        ("Dubai, UAE", None, "Dubai", "AE"),
        ("Germany", None, None, "DE"),
        ("Bloomington Convention Center", "Bloomington Convention Center", None, None),
        ("", None, None, None),
    ],
)
def test_split_location(
    text: str, venue: str | None, city: str | None, country: str | None
) -> None:
    assert tuple(split_location(text)) == (venue, city, country)


def test_country_name_and_timezones() -> None:
    assert country_name("DE") == "Germany"
    assert country_name("de", lang="fr") == "Allemagne"
    assert country_name("ARE", lang="es") == "Emiratos Árabes Unidos"
    assert country_name("XX") is None
    assert country_name("KR") == "South Korea"
    assert country_from_timezone("America/Indiana/Indianapolis") == "US"
    assert country_from_timezone("Africa/Nairobi") == "KE"
    assert country_from_timezone("UTC") is None
    assert country_from_timezone(None) is None


def test_to_country_never_raises() -> None:
    for value in GARBAGE:
        result = to_country(value)
        assert result is None or (isinstance(result, str) and len(result) == 2)
        split_location(value)


# -------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://Fairs.Example.COM:80/a?b=1#top", None, "http://fairs.example.com/a?b=1"),
        ("https://example.com:443", None, "https://example.com/"),
        ("https://example.com:8443/x", None, "https://example.com:8443/x"),
        ("page2.html", "http://fairs.test/fairs/index.html", "http://fairs.test/fairs/page2.html"),
        (
            "../private/x.html",
            "http://fairs.test/fairs/index.html",
            "http://fairs.test/private/x.html",
        ),
        ("/a/./b/../c", "http://h.test/", "http://h.test/a/c"),
        ("//cdn.test/x", "https://h.test/", "https://cdn.test/x"),
        (
            "agritech.html?utm_source=newsletter&utm_medium=email",
            "http://h.test/fairs/",
            "http://h.test/fairs/agritech.html",
        ),
        (
            "http://h.test/?z=1&fbclid=abc&a=2&gclid=x&UTM_Campaign=y&mc_cid=1&mc_eid=2&_ga=3"
            "&yclid=4&msclkid=5&ref_src=twsrc",
            None,
            "http://h.test/?z=1&a=2",
        ),
        ("http://h.test/?b=2&a=1", None, "http://h.test/?b=2&a=1"),  # order kept
        ("http://h.test/a b/é?q=ü ö", None, "http://h.test/a%20b/%C3%A9?q=%C3%BC%20%C3%B6"),
        ("http://h.test/a%20b", None, "http://h.test/a%20b"),
        ("  http://h.test/x  ", None, "http://h.test/x"),
    ],
)
def test_canonicalise(url: str, base: str | None, expected: str) -> None:
    assert canonicalise(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "mailto:info@fairs.test",
        "javascript:alert(1)",
        "ftp://h.test/x",
        "data:text/html,x",
        "",
        "   ",
        "http://",
        "http://:80/",
        "http://h.test:99999/",
        "http://exa mple.test/",
        "relative/only.html",
        "http://[::1/",
    ],
)
def test_canonicalise_rejects(url: str) -> None:
    assert canonicalise(url) is None


def test_canonicalise_idempotent_and_total() -> None:
    samples = [str(v) for v in GARBAGE] + [
        "http://h.test/" + "".join(_RNG.choice(_ALPHABET) for _ in range(40)) for _ in range(300)
    ]
    for url in samples:
        once = canonicalise(url)
        if once is not None:
            assert canonicalise(once) == once, url
            assert once.startswith(("http://", "https://"))
            assert "#" not in once
    for value in GARBAGE:
        canonicalise(value)  # type: ignore[arg-type]  # must not raise on non-str


# -------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("<p>a</p><p>b</p>", "a b"),
        ("a<br>b", "a b"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("&lt;p&gt;Escaped &lt;b&gt;markup&lt;/b&gt;&lt;/p&gt;", "Escaped markup"),
        ("caf&eacute; &#233; &#xE9;", "café é é"),
        ("  lots \n\t of   space  ", "lots of space"),
        ("a < b and c > d", "a < b and c > d"),
        ("<script>alert('x')</script>Fair", "Fair"),
        ("<style>p{}</style><p>Fair</p>", "Fair"),
        ("<img src=x onerror=alert(1)>Fair", "Fair"),
        ("x<!-- hidden -->y", "xy"),
        (123, "123"),
        (None, None),
        ("", None),
        ("   ", None),
        ("<p> </p>", None),
        ("<script>alert(1)", None),
    ],
)
def test_clean_text(value: object, expected: str | None) -> None:
    assert clean_text(value) == expected


def test_clean_text_hostile_html() -> None:
    hostile = (
        "<p>Fair</p><script>alert('x')</script><img src=x onerror=alert(1)>"
        '<a href="javascript:alert(2)" onclick="x()">go</a><iframe src=//evil></iframe>'
        "&lt;script&gt;alert(3)&lt;/script&gt;<svg onload=alert(4)><circle/></svg>"
    )
    cleaned = clean_text(hostile)
    assert cleaned == "Fair go"
    for bad in ("<", "script", "onerror", "alert", "javascript", "onload"):
        assert bad not in cleaned


def test_clean_text_max_len() -> None:
    text = "word " * 100
    cut = clean_text(text, max_len=50)
    assert cut is not None and len(cut) <= 50 and cut.endswith("…")
    assert clean_text(cut, max_len=50) == cut
    assert clean_text("short", max_len=50) == "short"


def test_clean_text_idempotent_and_total() -> None:
    samples: list[object] = [
        *GARBAGE,
        "&amp;lt;b&amp;gt;double&amp;lt;/b&amp;gt;",
        "&amp;amp;amp;amp;amp;",
        *("".join(_RNG.choice("<>/&;#ab pscript=\"'") for _ in range(60)) for _ in range(300)),
    ]
    for value in samples:
        once = clean_text(value)
        assert once is None or (isinstance(once, str) and once == once.strip() and once)
        assert clean_text(once) == once, repr(value)
        for n in (1, 5, 20):
            cut = clean_text(value, max_len=n)
            assert cut is None or len(cut) <= n
            assert clean_text(cut, max_len=n) == cut


# ----------------------------------------------------------------- sectors


@pytest.mark.parametrize(
    ("values", "mapped", "unmapped"),
    [
        (["Food & Beverage"], ["food", "beverages"], []),
        (["Agroalimentaire"], ["food"], []),
        (["Alimentos"], ["food"], []),
        (["Textiles"], ["textiles"], []),
        (["Leather goods"], ["leather"], []),
        (["Furniture"], ["furniture"], []),
        (["Packaging"], ["packaging"], []),
        (["Handicrafts"], ["handicrafts"], []),
        (["FOOD", "food & drinks", "Food"], ["food", "beverages"], []),
        (["fish_seafood", "multi_sector"], ["fish_seafood", "multi_sector"], []),
        (
            ["Emballage", "Embalaje", "Cosmétiques", "Textil", "Muebles"],
            ["packaging", "cosmetics", "textiles", "furniture"],
            [],
        ),
        (
            ["Fruits et légumes", "Café", "Artisanat", "Chaussures", "Bijoux"],
            ["fruit_vegetables", "coffee_tea_cocoa", "handicrafts", "footwear", "jewellery"],
            [],
        ),
        (["Board Meeting", "Textiles", "", "  ", "Board Meeting"], ["textiles"], ["Board Meeting"]),
    ],
)
def test_map_sectors(values: list[str], mapped: list[str], unmapped: list[str]) -> None:
    assert map_sectors(values) == (mapped, unmapped)


def test_every_vocabulary_term_maps_to_itself() -> None:
    assert len(SECTORS) == len(set(SECTORS)) == 39
    for term in SECTORS:
        assert map_sectors([term]) == ([term], [])
        assert map_sectors([term.replace("_", " ").title()]) == ([term], [])


def test_map_sectors_total() -> None:
    strings = [v for v in GARBAGE if isinstance(v, str)]
    mapped, _ = map_sectors(strings)
    assert set(mapped) <= set(SECTORS)
    assert map_sectors([None, 3, b"food"]) == ([], [])  # type: ignore[list-item]
    assert map_sectors(None) == ([], [])  # type: ignore[arg-type]
