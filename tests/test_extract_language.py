"""Records' `language`: what each format says of its text, read into one ISO 639 code, and
carried by real crawls to the stored record (so that `lang=fr` finds them)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.extract import EVENT_KEYS, extract_events, extract_ical
from crawlers.extract.feed import extract_feed
from crawlers.extract.fields import coerce_fields
from crawlers.extract.html_selectors import extract_detail, extract_items, read_detail
from crawlers.pipelines import build_record
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import crawl, errors_of, make_spec, records_of
from tests.helpers.sites import REALWORLD, SITES, SiteServer, serve_copy

LANG = SITES / "language"
URL = "http://fixture.test/language/"


@pytest.fixture
def language_site(tmp_path: Path) -> Iterator[SiteServer]:
    with serve_copy("language", tmp_path) as site:
        yield site


def languages(events: list[dict[str, Any]]) -> dict[str, str | None]:
    return {e["title"]: e["language"] for e in events}


def page(head: str = "", body: str = "", html: str = "<html>") -> str:
    return (
        f"<!DOCTYPE html>{html}<head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"
    )


def jsonld(**event: Any) -> str:
    node = {"@context": "https://schema.org", "@type": "Event", "startDate": "2027-03-01"}
    node.update(event)
    return f'<script type="application/ld+json">{json.dumps(node)}</script>'


# --------------------------------------------------------------------------- schema.org


def test_event_in_language_wins_over_the_page_lang() -> None:
    result = extract_events((LANG / "fairs.html").read_bytes(), URL + "fairs.html")
    assert languages(result.events) == {
        "Salon de l'agroalimentaire 2027": "fr",  # <html lang="fr-FR">
        "Coffee Traders Day 2027": "en",  # inLanguage "en-GB"
        "Feria del cacao 2027": "es",  # a Language object
        "Journée export 2027": "fr",  # inLanguage "xx" names nothing: the page's
    }
    assert result.errors == [
        "event 'Journée export 2027': inLanguage 'xx' is not a language; ignored"
    ]
    # inLanguage is read, so it is no longer reported as vocabulary we do not map
    assert all("inLanguage" not in e["unmapped"] for e in result.events)


def test_every_event_has_the_language_key() -> None:
    result = extract_events(page(body=jsonld(name="Quiet Fair")), URL)
    (event,) = result.events
    assert set(event) == set(EVENT_KEYS) and event["language"] is None
    assert result.errors == []


@pytest.mark.parametrize(
    ("in_language", "want"),
    [
        ("fr-CA", "fr"),
        ("Français", "fr"),
        ("fre", "fr"),
        ({"@type": "Language", "name": "German"}, "de"),
        ({"@type": "Language", "name": "Deutsch", "alternateName": "de-AT"}, "de"),
        # a list: the first value that is a language
        (["und", {"@type": "Language", "name": "Klingonish"}, "pt-BR", "en"], "pt"),
        ([{"@type": "Language", "name": "Spanish"}, "en"], "es"),
    ],
)
def test_in_language_forms(in_language: Any, want: str) -> None:
    body = page(body=jsonld(name="Fair", inLanguage=in_language), html='<html lang="en">')
    result = extract_events(body, URL)
    assert [e["language"] for e in result.events] == [want]
    assert result.errors == []


def test_in_language_by_reference_to_a_language_node() -> None:
    graph = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
        '{"@id": "#fr", "@type": "Language", "name": "French"},'
        '{"@type": "Event", "name": "Fair", "startDate": "2027-03-01",'
        ' "inLanguage": {"@id": "#fr"}}'
        "]}</script>"
    )
    assert [e["language"] for e in extract_events(page(body=graph), URL).events] == ["fr"]


def test_a_bad_in_language_and_no_page_lang_leaves_no_language_and_says_so() -> None:
    body = page(body=jsonld(name="Fair", inLanguage=["xx", "und"]))
    result = extract_events(body, URL)
    assert [e["language"] for e in result.events] == [None]
    assert result.errors == ["event 'Fair': inLanguage 'xx, und' is not a language; ignored"]


@pytest.mark.parametrize(
    ("html", "head", "want"),
    [
        ('<html lang="fr-CA">', "", "fr"),
        ('<html LANG="ES">', "", "es"),
        ('<html xml:lang="de">', "", "de"),
        ('<html lang="pt" xml:lang="pt-BR">', "", "pt"),
        ("<html>", '<meta http-equiv="Content-Language" content="it">', "it"),
        # the element's own lang comes before a meta pragma
        ('<html lang="en-US">', '<meta http-equiv="content-language" content="fr">', "en"),
        # a page lang that is no language is silently ignored: the meta pragma, else nothing
        ('<html lang="xx">', '<meta http-equiv="content-language" content="nl">', "nl"),
        ('<html lang="und">', "", None),
        ('<html lang="">', "", None),
        # HTML gives a page in several languages (a list) no default language
        ("<html>", '<meta http-equiv="content-language" content="de, en">', None),
        ("<html>", '<meta name="language" content="fr">', None),
    ],
)
def test_page_language(html: str, head: str, want: str | None) -> None:
    result = extract_events(page(head, jsonld(name="Fair"), html), URL)
    assert [e["language"] for e in result.events] == [want]
    assert result.errors == []


def test_xhtml_with_an_xml_declaration() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="sv"><head><title>t</title></head>'
        f"<body>{jsonld(name='Fair')}</body></html>"
    ).encode()
    assert [e["language"] for e in extract_events(body, URL).events] == ["sv"]


def test_microdata_and_the_content_language_meta() -> None:
    result = extract_events((LANG / "meta-microdata.html").read_bytes(), URL + "meta.html")
    assert languages(result.events) == {
        "Lebensmittelmesse 2027": "de",  # <meta http-equiv="Content-Language">
        "Cocoa Buyers Forum 2027": "en",  # itemprop=inLanguage, a Language item
    }
    assert result.errors == []


def test_microdata_text_and_rdfa() -> None:
    microdata = (
        '<div itemscope itemtype="https://schema.org/Event"><span itemprop="name">Micro Fair</span>'
        '<meta itemprop="startDate" content="2027-03-01"><meta itemprop="inLanguage" content="nl">'
        "</div>"
    )
    rdfa = (
        '<div vocab="https://schema.org/" typeof="Event"><span property="name">Rdfa Fair</span>'
        '<meta property="startDate" content="2027-04-01">'
        '<meta property="inLanguage" content="pt-BR"></div>'
    )
    result = extract_events(page(body=microdata + rdfa, html='<html lang="en">'), URL)
    assert languages(result.events) == {"Micro Fair": "nl", "Rdfa Fair": "pt"}


def test_one_event_in_two_syntaxes_takes_the_language_either_gives() -> None:
    microdata = (
        '<div itemscope itemtype="https://schema.org/Event"><span itemprop="name">Twin Fair</span>'
        '<meta itemprop="startDate" content="2027-03-01"><meta itemprop="inLanguage" content="ar">'
        "</div>"
    )
    body = page(body=jsonld(name="Twin Fair") + microdata, html='<html lang="en">')
    result = extract_events(body, URL)
    assert [e["language"] for e in result.events] == ["ar"]


# --------------------------------------------------------------------------- html selectors


NOTICE_FIELDS = {"title": "h2", "language": "span.lang::text", "url": "a.more::attr(href)"}


def test_html_items_carry_the_page_language() -> None:
    result = extract_items((LANG / "notices.html").read_bytes(), URL, "div.notice", NOTICE_FIELDS)
    assert result.language == "fr"
    assert [item.get("language") for item in result.items] == [None, ["English"], ["bilingue"]]
    no_lang = extract_items(page(body="<p class='x'>a</p>"), URL, "p.x", {"title": "::text"})
    assert no_lang.language is None and no_lang.items == [{"title": ["a"]}]


def test_html_detail_page_language() -> None:
    body = (LANG / "etiquetage.html").read_bytes()
    found = read_detail(body, URL + "etiquetage.html", {"summary": "p.summary"})
    assert found.language == "es" and found.errors == []
    assert found.values == {"summary": ["Etiquetado bilingüe de los alimentos envasados."]}
    # the older interface is unchanged
    assert extract_detail(body, URL, {"summary": "p.summary"}) == (found.values, [])


# --------------------------------------------------------------------------- field mappings


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("fr", "fr"),
        ("FR-ca", "fr"),
        ("French", "fr"),
        ("Français", "fr"),
        ("fre", "fr"),
        ("ES", "es"),
    ],
)
def test_a_mapped_language_is_normalised(raw: str, want: str) -> None:
    for strict in (False, True):
        coerced = coerce_fields({"title": "T", "language": raw}, "requirement", strict=strict)
        assert coerced.values == {"title": "T", "language": want} and coerced.problems == []


@pytest.mark.parametrize("strict", [False, True])
def test_a_mapped_value_that_is_no_language_is_a_reported_failure(strict: bool) -> None:
    coerced = coerce_fields({"title": "T", "language": "bilingue"}, "finance", strict=strict)
    # left out even in strict mode: the record would drop it without a word
    assert coerced.values == {"title": "T"}
    assert coerced.problems == [
        "language: 'bilingue' is not a language (an ISO 639 code such as 'fr', or a name)"
    ]


def test_a_source_default_fills_only_a_silent_record() -> None:
    spec = make_spec(
        id="xx_lang_defaults",
        kind="requirement",
        format="feed",
        start_urls=["http://fixture.test/feed.xml"],
        defaults={"language": "de"},
    )
    said = build_record({"title": "A", "language": "fr", "_key": "a"}, spec)
    silent = build_record({"title": "B", "language": None, "_key": "b"}, spec)
    assert (said.language, silent.language) == ("fr", "de")


# --------------------------------------------------------------------------- feeds


def test_atom_entry_xml_lang_wins_over_the_feed() -> None:
    result = extract_feed((LANG / "news.atom").read_bytes(), URL + "news.atom", "requirement")
    assert result.errors == []
    assert {e["title"]: e.get("language") for e in result.entries} == {
        "Nouvelles règles d'étiquetage au Sénégal": "fr",  # <entry xml:lang="fr">
        "Ghana updates its fumigation rules": "en",  # the feed's xml:lang="en-GB"
    }


def rss(channel: str = "", item: str = "", root: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f" {root}><channel><title>News</title>{channel}"
        f"<item><title>Notice</title><link>http://fixture.test/n</link>{item}</item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "want"),
    [
        (rss("<language>fr-ca</language>"), "fr"),
        (rss("<language>French</language>"), "fr"),
        (rss("<language>en</language>", "<dc:language>es</dc:language>"), "es"),
        (rss(root='xml:lang="de"'), "de"),
        # a feed-level tag that is no language is no default; nothing is reported
        (rss("<language>xx</language>"), None),
        (rss(), None),
    ],
)
def test_rss_language(body: bytes, want: str | None) -> None:
    result = extract_feed(body, "http://fixture.test/feed.xml", "requirement")
    assert result.errors == []
    assert [e.get("language") for e in result.entries] == [want]


def test_rss_fixture_language_is_a_code() -> None:
    body = (SITES / "feed" / "requirements.xml").read_bytes()  # <language>en-gb</language>
    result = extract_feed(body, "http://fixture.test/feed/requirements.xml", "requirement")
    assert {e["language"] for e in result.entries} == {"en"}


# --------------------------------------------------------------------------- iCalendar


def test_ical_summary_language_parameter() -> None:
    result = extract_ical((LANG / "events.ics").read_bytes(), URL + "events.ics")
    assert languages(result.events) == {
        "Salon des exportateurs 2027": "fr",
        "Spice Traders Fair 2027": None,
        "Mystery Fair 2027": None,
    }
    assert result.errors == ["VEVENT 3: LANGUAGE='xx' is not a language; ignored"]
    assert all(set(e) == {*EVENT_KEYS, "uid"} for e in result.events)


def test_ical_description_language_when_the_summary_has_none() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        "SUMMARY:Expo 2027\r\nDESCRIPTION;LANGUAGE=es-MX:Feria de exportadores\r\n"
        "DTSTART;VALUE=DATE:20270301\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (event,) = extract_ical(ics, URL).events
    assert (event["language"], event["start_date"]) == ("es", dt.date(2027, 3, 1))


# --------------------------------------------------------------------------- real crawls


@pytest.mark.crawl
def test_schema_org_crawl_stores_the_language(
    settings: Settings, store: Store, language_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_lang_schema_org",
        kind="fair",
        format="schema_org",
        start_urls=[language_site.url("/fairs.html"), language_site.url("/meta-microdata.html")],
        defaults={"language": "pt"},  # every event here says its language: never used
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = {title: r.language for title, r in records_of(store, spec.id).items()}
    assert got == {
        "Salon de l'agroalimentaire 2027": "fr",
        "Coffee Traders Day 2027": "en",
        "Feria del cacao 2027": "es",
        "Journée export 2027": "fr",
        "Lebensmittelmesse 2027": "de",
        "Cocoa Buyers Forum 2027": "en",
    }
    assert {
        "url": language_site.url("/fairs.html"),
        "message": "event 'Journée export 2027': inLanguage 'xx' is not a language; ignored",
    } in errors_of(store, outcome)


@pytest.mark.crawl
def test_html_crawl_field_then_detail_page_then_list_page(
    settings: Settings, store: Store, language_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_lang_html",
        kind="requirement",
        format="html",
        start_urls=[language_site.url("/notices.html")],
        selectors={
            "item": "div.notice",
            "fields": NOTICE_FIELDS,
            "detail": {"summary": "p.summary"},
        },
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert {title: r.language for title, r in got.items()} == {
        "Étiquetage bilingue des aliments": "es",  # its own page says <html lang="es">
        "Fumigation certificates": "en",  # the mapped field
        "Emballage du café": "fr",  # the field names no language: the page's lang="fr-CA"
    }
    assert got["Étiquetage bilingue des aliments"].summary.startswith("Etiquetado")  # type: ignore[union-attr]
    assert {
        "url": language_site.url("/notices.html"),
        "message": "Emballage du café: language: 'bilingue' is not a language "
        "(an ISO 639 code such as 'fr', or a name)",
    } in errors_of(store, outcome)


@pytest.mark.crawl
def test_feed_crawl_stores_the_language(
    settings: Settings, store: Store, language_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_lang_feed",
        kind="requirement",
        format="feed",
        start_urls=[language_site.url("/news.atom")],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert {t: r.language for t, r in records_of(store, spec.id).items()} == {
        "Nouvelles règles d'étiquetage au Sénégal": "fr",
        "Ghana updates its fumigation rules": "en",
    }


@pytest.mark.crawl
def test_ical_crawl_language_and_source_default(
    settings: Settings, store: Store, language_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_lang_ical",
        kind="fair",
        format="ical",
        start_urls=[language_site.url("/events.ics")],
        defaults={"language": "de"},
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert {t: r.language for t, r in records_of(store, spec.id).items()} == {
        "Salon des exportateurs 2027": "fr",
        "Spice Traders Fair 2027": "de",  # the calendar is silent: the source default
        "Mystery Fair 2027": "de",
    }


@pytest.mark.crawl
def test_table_crawl_reads_a_language_column(
    settings: Settings, store: Store, language_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_lang_table",
        kind="requirement",
        format="table",
        start_urls=[language_site.url("/requirements.csv")],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert {t: r.language for t, r in records_of(store, spec.id).items()} == {
        "Étiquetage du cacao": "fr",
        "Coffee packaging": "en",
        "Emballage des fruits": None,
    }
    assert errors_of(store, outcome) == [
        {
            "url": language_site.url("/requirements.csv"),
            "message": "row 4: language: 'xx' is not a language "
            "(an ISO 639 code such as 'fr', or a name)",
        }
    ]


@pytest.mark.crawl
def test_curated_csv_and_yaml_crawl_report_a_bad_language(
    settings: Settings, store: Store, language_site: SiteServer
) -> None:
    (Path(language_site.root) / "fairs.yml").write_text(
        "records:\n"
        "  - {id: salon, title: Salon du cacao, start_date: 2027-03-02, language: Français}\n"
        "  - {id: mystery, title: Mystery Fair, start_date: 2027-03-03, language: xx}\n",
        encoding="utf-8",
    )
    csv_spec = make_spec(
        id="xx_lang_curated",
        kind="finance",
        format="curated",
        start_urls=[language_site.url("/finance.csv")],
    )
    outcome = crawl(settings, store, csv_spec)
    assert outcome.ok, outcome.message
    assert {t: r.language for t, r in records_of(store, csv_spec.id).items()} == {
        "Assurance-crédit export": "fr",
        "Garantie export": None,  # kept, without the language it could not read
    }
    assert errors_of(store, outcome) == [
        {
            "url": language_site.url("/finance.csv"),
            "message": "row 3: language: 'Klingonish' is not a language "
            "(an ISO 639 code such as 'fr', or a name)",
        }
    ]
    yaml_spec = make_spec(
        id="xx_lang_curated_yaml",
        kind="fair",
        format="curated",
        start_urls=[language_site.url("/fairs.yml")],
    )
    outcome = crawl(settings, store, yaml_spec)
    assert outcome.ok, outcome.message
    assert {t: r.language for t, r in records_of(store, yaml_spec.id).items()} == {
        "Salon du cacao": "fr",
        "Mystery Fair": None,
    }
    assert [e["message"] for e in errors_of(store, outcome)] == [
        "record #2: language: 'xx' is not a language (an ISO 639 code such as 'fr', or a name);"
        " left out"
    ]


# --------------------------------------------------------------------------- real pages


REAL_HTML = REALWORLD / "html"


@pytest.mark.skipif(not REAL_HTML.is_dir(), reason=f"realworld corpus not found at {REALWORLD}")
def test_real_pages_in_english_give_english_events() -> None:
    pages = sorted(p for p in REAL_HTML.iterdir() if p.is_file())
    assert pages
    count = 0
    for path in pages:
        result = extract_events(path.read_bytes(), f"http://corpus.test/html/{path.name}")
        # every page of the corpus says <html lang="en..."> (some events also inLanguage)
        assert {e["language"] for e in result.events} <= {"en"}, path.name
        assert not [e for e in result.errors if "inLanguage" in e], path.name
        count += len(result.events)
    assert count > 0
