"""Property-based tests (hypothesis) for the normalisers: arbitrary input never raises, results
are well-formed, and normalising twice changes nothing.

Examples are derandomized: the same inputs on every run, so CI never fails by chance; a
failure prints the input that reproduces it.
"""

from __future__ import annotations

import datetime as dt
import re
import string

import pycountry
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crawlers.normalise import (
    SECTORS,
    canonicalise,
    clean_text,
    map_sectors,
    parse_date,
    split_location,
    to_country,
)
from crawlers.normalise.dates import MAX_YEAR, MIN_YEAR
from crawlers.normalise.values import parse_hs
from search_api.domain.languages import language_code
from search_api.domain.products import normalise_code

PROPS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ALPHA2 = sorted(c.alpha_2 for c in pycountry.countries)

# Anything a JSON-LD, microdata or iCalendar parser may hand a normaliser.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
anything = (
    json_values
    | st.binary(max_size=200)
    | st.dates()
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.builds(object)
)
# Text with the characters that matter to each normaliser, more often than st.text() has them.
soup = st.text(
    alphabet=st.sampled_from(string.printable + "éüçñ…–·•\u00a0\u200b\ufeff<>&;#/:?=%@.,- "),
    max_size=120,
)
texts = st.text(max_size=200) | soup


# --------------------------------------------------------------------------- dates


@PROPS
@given(anything)
def test_parse_date_never_raises_and_stays_in_range(value: object) -> None:
    result = parse_date(value)
    assert result is None or (type(result) is dt.date and MIN_YEAR <= result.year <= MAX_YEAR)


@PROPS
@given(texts)
def test_parse_date_of_text_is_stable(text: str) -> None:
    result = parse_date(text)
    if result is not None:
        assert parse_date(result.isoformat()) == result
        assert parse_date(result) == result


@PROPS
@given(st.dates(dt.date(MIN_YEAR, 1, 1), dt.date(MAX_YEAR, 12, 31)))
def test_iso_dates_round_trip(day: dt.date) -> None:
    assert parse_date(day.isoformat()) == day
    assert parse_date(f"{day.isoformat()}T10:00:00+05:30") == day  # the date as written
    assert parse_date(day.strftime("%Y%m%d")) == day
    assert parse_date(f"{day.day} {day:%B} {day.year}") == day
    assert parse_date(f"{day:%B} {day.day}, {day.year}") == day
    if day.day > 12:  # unambiguous day-first
        assert parse_date(day.strftime("%d/%m/%Y")) == day


@PROPS
@given(st.datetimes(timezones=st.timezones()))
def test_datetimes_keep_their_local_date(moment: dt.datetime) -> None:
    expected = moment.date() if MIN_YEAR <= moment.year <= MAX_YEAR else None
    assert parse_date(moment) == expected
    assert parse_date(moment.isoformat()) == expected


# --------------------------------------------------------------------------- countries


def _is_alpha2(code: object) -> bool:
    return isinstance(code, str) and code in ALPHA2


@PROPS
@given(anything | texts)
def test_to_country_never_raises_and_returns_a_code_it_keeps(value: object) -> None:
    code = to_country(value)
    assert code is None or _is_alpha2(code)
    if code is not None:
        assert to_country(code) == code


@PROPS
@given(st.sampled_from(ALPHA2))
def test_every_iso_code_is_itself(code: str) -> None:
    country = pycountry.countries.get(alpha_2=code)
    assert to_country(code) == code
    assert to_country(code.lower()) == code
    assert to_country(f" {code} ") == code
    assert to_country(country.alpha_3) == code
    assert to_country({"@type": "Country", "name": code}) == code


# Every language with a code, but the special ones that name no language ("und", "mul", ...).
LANGUAGES = sorted(
    (lang for lang in pycountry.languages if lang.alpha_3 not in ("und", "mul", "zxx", "mis")),
    key=lambda lang: lang.alpha_3,
)


def _code(lang: object) -> str:
    return getattr(lang, "alpha_2", None) or lang.alpha_3  # type: ignore[attr-defined]


# BCP 47-like tags as pages write them: "fr", "fr-CA", "EN_us", "es-419", "sr-Latn".
language_tags = st.builds(
    lambda lang, region, sep, upper: (lambda t: t.upper() if upper else t)(
        _code(lang) + (f"{sep}{region}" if region else "")
    ),
    st.sampled_from(LANGUAGES),
    st.none() | st.sampled_from(ALPHA2) | st.sampled_from(["Latn", "419"]),
    st.sampled_from("-_"),
    st.booleans(),
)


@PROPS
@given(texts | language_tags)
def test_language_code_never_raises_and_is_idempotent(text: str) -> None:
    code = language_code(text)
    assert code is None or re.fullmatch(r"[a-z]{2,3}", code)
    if code is not None:
        assert language_code(code) == code


@PROPS
@given(st.sampled_from(LANGUAGES), st.none() | st.sampled_from(ALPHA2), st.sampled_from("-_"))
def test_every_iso_639_language_is_found_by_its_codes_and_tags(
    lang: object, region: str | None, sep: str
) -> None:
    code = _code(lang)
    tag = code + (f"{sep}{region}" if region else "")
    assert language_code(tag) == code
    assert language_code(tag.upper()) == code
    assert language_code(lang.alpha_3) == code  # type: ignore[attr-defined]
    name = lang.name  # type: ignore[attr-defined]
    if not re.fullmatch(r"[A-Za-z]{2,3}", name):  # "Aer" is the name of aeq and the code of aer
        assert language_code(name) == code


@PROPS
@given(texts, st.none() | st.sampled_from(ALPHA2))
def test_split_location_never_raises(text: str, hint: str | None) -> None:
    location = split_location(text, hint=hint)
    assert location.country is None or _is_alpha2(location.country)
    for part in (location.venue, location.city):
        assert part is None or (isinstance(part, str) and part == part.strip() and part)


# --------------------------------------------------------------------------- URLs

_hosts = st.sampled_from(["example.org", "EXAMPLE.org.", "127.0.0.1", "[::1]", "bücher.de"])
_segments = st.lists(
    st.sampled_from(["fairs", ".", "..", "a b", "%41", "ü", "", "x;y=1", "%zz"]), max_size=5
)
_params = st.lists(
    st.tuples(
        st.sampled_from(["utm_source", "UTM_Medium", "fbclid", "gclid", "page", "q", "id", "_ga"]),
        st.text(alphabet="ab1 &=%/?#é", max_size=6),
    ),
    max_size=4,
)


def _urls(fragments: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda scheme, host, port, path, params, frag: (
            f"{scheme}://{host}{port}/{'/'.join(path)}"
            + ("?" + "&".join(f"{k}={v}" for k, v in params) if params else "")
            + frag
        ),
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", "mailto"]),
        _hosts,
        st.sampled_from(["", ":80", ":443", ":8080", ":99999", ":x"]),
        _segments,
        _params,
        fragments,
    )


urls = _urls(st.sampled_from(["", "#top", "#", "#a?b"]))
_TRACKING = re.compile(r"&(?:utm_[^=&]*|fbclid|gclid|_ga)(?:=|&|$)", re.IGNORECASE)


@PROPS
@given(urls | texts, st.none() | urls)
def test_canonicalise_never_raises_and_is_idempotent(url: str, base: str | None) -> None:
    result = canonicalise(url, base)
    if result is None:
        return
    assert result.startswith(("http://", "https://"))
    assert "#" not in result
    assert not any(c in result for c in " \r\n\t")
    assert not _TRACKING.search("&" + result.partition("?")[2])
    assert canonicalise(result) == result
    # Relative to itself, a canonical URL stays put.
    assert canonicalise(result, result) == result


@PROPS
@given(_urls(st.just("")), st.sampled_from(["utm_campaign=x", "fbclid=1", "gclid=", "_ga=2"]))
def test_tracking_parameters_and_fragments_make_no_other_url(url: str, tracking: str) -> None:
    url = url.strip()  # trailing blanks are dropped first: the suffix would follow them
    result = canonicalise(url)
    assume(result is not None)
    assert canonicalise(url + ("&" if "?" in url else "?") + tracking) == result
    assert canonicalise(url + "#section") == result


# --------------------------------------------------------------------------- text


@PROPS
@given(anything | texts)
def test_clean_text_never_raises_and_is_idempotent(value: object) -> None:
    text = clean_text(value)
    if text is None:
        return
    assert text == text.strip() and text
    assert "  " not in text and "\n" not in text
    assert clean_text(text) == text


@PROPS
@given(texts, st.integers(min_value=0, max_value=60))
def test_clean_text_respects_its_length_limit(value: str, max_len: int) -> None:
    text = clean_text(value, max_len=max_len)
    assert text is None or len(text) <= max_len
    if text is not None:
        assert clean_text(text, max_len=max_len) == text


@PROPS
@given(st.text(alphabet=st.sampled_from("<>/ abscriptonerolad=\"'&;"), max_size=80))
def test_clean_text_drops_markup(value: str) -> None:
    text = clean_text(f"<p>{value}</p><script>alert(1)</script>")
    assert text is None or "alert(1)" not in text


# --------------------------------------------------------------------------- HS codes and sectors

_hs_digits = st.sampled_from([2, 4, 6]).flatmap(
    lambda n: st.text(alphabet=string.digits, min_size=n, max_size=n)
)


@PROPS
@given(texts)
def test_hs_normalisation_never_raises_and_is_idempotent(text: str) -> None:
    code = normalise_code(text)
    assert code is None or (code.isdigit() and len(code) in (2, 4, 6))
    if code is not None:
        assert normalise_code(code) == code
    codes, _ = parse_hs(text)
    assert all(c.isdigit() and len(c) in (2, 4, 6) for c in codes)
    assert len(codes) == len(set(codes))
    assert parse_hs(", ".join(codes)) == (codes, [])


@PROPS
@given(_hs_digits)
def test_hs_codes_written_with_dots_and_spaces(code: str) -> None:
    dotted = ".".join([code[:4], code[4:]]) if len(code) == 6 else code
    spaced = " ".join(code[i : i + 2] for i in range(0, len(code), 2))
    assert normalise_code(code) == normalise_code(dotted) == normalise_code(spaced) == code
    assert parse_hs(f"HS {dotted}") == ([code], [])


@PROPS
@given(st.lists(texts | st.sampled_from(list(SECTORS)), max_size=5))
def test_map_sectors_returns_vocabulary_terms_only(values: list[str]) -> None:
    mapped, unmapped = map_sectors(values)
    assert set(mapped) <= set(SECTORS)
    assert len(mapped) == len(set(mapped))
    assert set(unmapped) <= set(values)
    assert map_sectors(mapped) == (mapped, [])


# --------------------------------------------------------------------------- extraction of
# malformed pages and calendars: nothing raises, and a repair never invents an event.

from crawlers.extract import extract_events, extract_ical  # noqa: E402
from crawlers.extract.title_markers import online_marker, status_marker  # noqa: E402
from crawlers.normalise.countries import locate  # noqa: E402
from crawlers.normalise.dates import parse_date_range, parse_moment  # noqa: E402

EXTRACTION = settings(PROPS, max_examples=150)


def _page(*blocks: str) -> str:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return f"<!doctype html><html><head>{scripts}</head><body></body></html>"


_names = (
    st.text(
        alphabet=st.sampled_from(string.ascii_letters + string.digits + " &'\"-:()éü"),
        min_size=3,
        max_size=30,
    )
    .map(str.strip)
    .filter(lambda s: len(s) >= 3 and clean_text(s) == s)
)
_days = st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31))
_events = st.lists(st.tuples(_names, _days), min_size=1, max_size=4, unique_by=lambda t: t[0])


def _event_json(name: str, day: dt.date) -> dict[str, object]:
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": name,
        "startDate": day.isoformat(),
        "description": "Exhibitors and buyers meet here",
        "location": {"@type": "Place", "name": "Hall 1", "address": {"addressCountry": "KE"}},
    }


def _corrupt(text: str, how: str, at: int) -> str:
    """A syntax error of the kinds real pages have; the names and dates stay as written."""
    positions = [i for i, ch in enumerate(text) if ch in "}]"]
    spaces = [i for i, ch in enumerate(text) if ch == " " and text.count('"', 0, i) % 2 == 1]
    if how == "trailing comma" and positions:
        i = positions[at % len(positions)]
        return text[:i] + "," + text[i:]
    if how == "raw newline" and spaces:
        i = spaces[at % len(spaces)]
        return text[:i] + "\n" + text[i + 1 :]
    if how == "unescaped quotes":
        return text.replace('\\"', '"')
    if how == "truncated":
        return text[: max(1, at % len(text))]
    if how == "html-escaped":
        return text.replace('"', "&quot;")
    if how == "structural char dropped":
        marks = [i for i, ch in enumerate(text) if ch in ",:{}[]"]
        if marks:
            i = marks[at % len(marks)]
            return text[:i] + text[i + 1 :]
    return text


@EXTRACTION
@given(
    _events,
    st.sampled_from(
        [
            "trailing comma",
            "raw newline",
            "unescaped quotes",
            "truncated",
            "html-escaped",
            "structural char dropped",
            "concatenated",
        ]
    ),
    st.integers(min_value=0, max_value=10_000),
)
def test_repair_never_invents_an_event(
    events: list[tuple[str, dt.date]], how: str, at: int
) -> None:
    import json

    nodes = [_event_json(name, day) for name, day in events]
    strict = extract_events(_page(json.dumps(nodes, ensure_ascii=False)), "http://x.test/")
    published = {(e["title"], e["start_date"]) for e in strict.events}
    assert published == {(name, day) for name, day in events}  # a strict parse finds them all
    if how == "concatenated":
        broken = "\n".join(json.dumps(n, ensure_ascii=False) for n in nodes)
    else:
        broken = _corrupt(json.dumps(nodes, ensure_ascii=False), how, at)
    result = extract_events(_page(broken), "http://x.test/")
    got = [(e["title"], e["start_date"]) for e in result.events]
    assert set(got) <= published, (broken, got)
    assert len(got) == len(set(got))  # and nothing twice


@PROPS
@given(st.text(max_size=300) | soup, st.booleans())
def test_any_json_ld_text_never_raises(text: str, wrap: bool) -> None:
    body = _page(text) if wrap else text
    result = extract_events(body, "http://x.test/")
    for event in result.events:
        assert event["title"] and isinstance(event["start_date"], dt.date)


_CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:UTC\r\nTZID:America/Chicago\r\nBEGIN:STANDARD\r\n"
    "DTSTART:19701101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0600\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:<p>1</p>\r\nSUMMARY:Expo – Cancelled\r\n"
    "DTSTART;TZID=America/Chicago:20240305T180000\r\nLOCATION:Portland\\, OR 97201\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:Fair\r\nDTSTART:20240306T233000Z\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:3\r\nSUMMARY:Forum\r\nDTSTART:20240307T1800\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


@PROPS
@given(
    st.lists(st.integers(min_value=0, max_value=40), max_size=4),
    st.lists(st.tuples(st.integers(min_value=0, max_value=40), texts), max_size=3),
    st.integers(min_value=1, max_value=len(_CALENDAR)),
)
def test_a_damaged_calendar_never_raises_and_keeps_its_whole_events(
    dropped: list[int], inserted: list[tuple[int, str]], cut: int
) -> None:
    lines = _CALENDAR.split("\r\n")
    for i in sorted(set(dropped), reverse=True):
        if i < len(lines):
            del lines[i]
    for i, text in inserted:
        lines.insert(min(i, len(lines)), text.replace("\r", " ").replace("\n", " "))
    damaged = "\r\n".join(lines)[:cut] if cut < len(_CALENDAR) // 2 else "\r\n".join(lines)
    result = extract_ical(damaged, "http://x.test/cal.ics")
    titles = {"Expo – Cancelled", "Fair", "Forum"}
    for event in result.events:
        assert isinstance(event["start_date"], dt.date)
        assert event["end_date"] >= event["start_date"]
        if event["title"] not in titles:  # only text that was inserted as a SUMMARY line
            assert any(event["title"] in text for _, text in inserted)


@PROPS
@given(texts)
def test_title_markers_never_raise_and_name_words_of_the_title(title: str) -> None:
    for marker in (status_marker(title), online_marker(title)):
        if marker is not None:
            assert marker.marker.casefold() in title.casefold()


@PROPS
@given(texts | st.sampled_from(["Portland, OR 97201", "Toronto, ON M5V 2T6", "Akron, Ohio"]))
def test_locate_never_raises_and_infers_only_iso_codes(text: str) -> None:
    found = locate(text, hint="DE")
    if found.inference is not None:
        assert found.location.country == found.inference.country
        assert _is_alpha2(found.inference.country)


@PROPS
@given(texts | _days.map(lambda d: f"{d.day} {d:%B} {d.year}"))
def test_date_ranges_and_moments_never_raise(text: str) -> None:
    span = parse_date_range(text)
    if span is not None:
        assert span[0] <= span[1]
    moment = parse_moment(text)
    assert moment is None or MIN_YEAR <= moment.date.year <= MAX_YEAR
