"""The web pages in English, French and Spanish: complete catalogues, language choice, formats,
and pages that stay small."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from search_api.domain import articles, i18n
from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from tests.helpers.factories import fair

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("fr", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w*)\}")
YEAR = date.today().year + 1

# --------------------------------------------------------------------------- catalogues


class InContext(NamedTuple):
    context: str
    message: str


def extracted_messages() -> dict[Any, list[str]]:
    """Every message of the templates and Python sources, as babel.cfg extracts it, with where
    it was found; a plural message is keyed by its (singular, plural) pair."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[Any, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        # A message with a context (the emails' "email") is its own entry in the catalogue.
        key = InContext(context, message) if context else message
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def catalogue_problems(messages: dict[Any, list[str]], catalog: Catalog) -> list[str]:
    """Why `catalog` does not translate `messages` completely and safely (empty when it does)."""
    problems = []
    for key, where in sorted(messages.items(), key=lambda kv: str(kv[0])):
        context = None
        if isinstance(key, InContext):
            context, key = key
        ids = key if isinstance(key, tuple) else (key,)
        entry = catalog.get(ids[0], context=context)
        at = where[0]
        if entry is None:
            problems.append(f"missing: {ids[0]!r} ({at})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r} ({at})")
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(ids) > 1 and (not isinstance(entry.string, tuple) or len(forms) < 2):
            problems.append(f"not translated as a plural: {ids[0]!r} ({at})")
            continue
        if not all(forms):
            problems.append(f"untranslated: {ids[0]!r} ({at})")
            continue
        for n, form in enumerate(forms):
            source = ids[min(n, len(ids) - 1)]
            if _placeholders(form) != _placeholders(source):
                problems.append(
                    f"placeholders differ: {source!r} has {sorted(_placeholders(source))}, "
                    f"{form!r} has {sorted(_placeholders(form))} ({at})"
                )
    return problems


def load_catalog(lang: str) -> Catalog:
    with (i18n.TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


@pytest.fixture(scope="module")
def messages() -> dict[Any, list[str]]:
    found = extracted_messages()
    # Extraction really read the templates and the Python labels, not an empty tree.
    assert "Upcoming fairs" in found and "Credit insurance" in found and "Title" in found
    assert ("%(n)s result", "%(n)s results") in found
    assert InContext("email", "What changed since our last email about:") in found
    return found


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_translates_every_message(messages: dict[Any, list[str]], lang: str) -> None:
    problems = catalogue_problems(messages, load_catalog(lang))
    assert not problems, f"{lang}: " + "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogues_read_without_problems(lang: str) -> None:
    # babel otherwise only warns, on every catalogue load (every page in that language), about
    # a plural form too many or a broken entry, and drops it.
    with (i18n.TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        read_po(f, locale=lang, abort_invalid=True)


def test_the_completeness_check_names_what_is_wrong() -> None:
    catalog = Catalog(locale="fr")
    catalog.add("Search", "Rechercher")
    catalog.add("Empty", "")
    catalog.add("Guess", "Devinette", flags=["fuzzy"])
    catalog.add("Page %(page)s of %(pages)s", "Page %(page)s sur %(total)s")
    catalog.add(("%(n)s result", "%(n)s results"), ("%(n)s résultat", ""))
    messages = {
        "Search": ["a.html:1"],
        "Missing one": ["a.html:2"],
        "Empty": ["a.html:3"],
        "Guess": ["a.html:4"],
        "Page %(page)s of %(pages)s": ["a.html:5"],
        ("%(n)s result", "%(n)s results"): ["a.html:6"],
    }
    problems = "\n".join(catalogue_problems(messages, catalog))
    assert "missing: 'Missing one' (a.html:2)" in problems
    assert "untranslated: 'Empty'" in problems
    assert "fuzzy: 'Guess'" in problems
    assert "placeholders differ: 'Page %(page)s of %(pages)s'" in problems
    assert "untranslated: '%(n)s result'" in problems
    assert "Search" not in problems


# Text a template shows without `_()` or `{% trans %}` (the brand and a few codes are the same
# in every language).
_WORD = re.compile(r"[^\W\d_]{2,}")
_SAME_IN_EVERY_LANGUAGE = {"Tradepoint", "API", "UTC"}
_SHOWN_ATTRS = {"title", "placeholder", "aria-label", "alt"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.verbatim = 0  # inside <code>/<pre>: commands and YAML, not prose

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.verbatim += tag in ("code", "pre")
        self.found += [v for k, v in attrs if k in _SHOWN_ATTRS and v]

    def handle_endtag(self, tag: str) -> None:
        self.verbatim -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self.verbatim:
            self.found.append(data)


def untranslated_text(source: str) -> list[str]:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    html, in_trans = [], 0
    for _lineno, kind, value in env.lex(source):
        if kind == "name" and value in ("trans", "endtrans"):
            in_trans += 1 if value == "trans" else -1
        elif kind == "data" and not in_trans:
            html.append(value)
        elif kind == "variable_begin":
            html.append("\x00")  # an expression: never literal text
    parser = _Text()
    parser.feed("".join(html))
    parser.close()
    return [
        t for t in parser.found if any(w not in _SAME_IN_EVERY_LANGUAGE for w in _WORD.findall(t))
    ]


def test_templates_show_no_text_outside_translations() -> None:
    assert untranslated_text('<p>{% if x %}Hello {{ y }}{% endif %}<i title="Hi">.</i></p>') == [
        "Hello \x00",
        "Hi",
    ]
    offenders = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if "email" in path.parts:  # email templates take their strings by key (email_messages.py)
            continue
        if found := untranslated_text(path.read_text(encoding="utf-8")):
            offenders[str(path.relative_to(ROOT))] = found
    assert not offenders


# --------------------------------------------------------------------------- choosing a language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", ["fr", "en"]),
        ("en;q=0.5, es;q=0.8", ["es", "en"]),
        ("de-DE, es-MX;q=0.3", ["es"]),
        ("fr;q=0, es", ["es"]),
        ("fr;q=abc, es;q=0.1", ["es"]),
        ("*", ["en"]),
        ("", []),
    ],
)
def test_accept_language_ranks_by_q_values(header: str, expected: list[str]) -> None:
    assert i18n.accepted_languages(header) == expected


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    records = [
        fair(
            f"t_src:{i}",
            f"Coffee and Tea Fair Number {i} for exporters",
            country=["KE", "DE", "FR", "AE"][i % 4],
            city="Somewhere",
            start_date=f"{YEAR}-03-10",
            end_date=f"{YEAR}-03-12",
            sectors=["food", "coffee_tea_cocoa", "packaging"],
            markets=["KE", "DE", "FR"],
            summary="A long description of the fair and who exhibits there " * 6,
            url=f"https://fair{i}.example.org/",
        )
        for i in range(30)
    ]
    records += [
        parse_record(r)
        for r in (
            {
                "id": "t_req:eu-fic",
                "kind": "requirement",
                "title": "EU food information to consumers",
                "source_id": "t_req",
                "markets": ["EU"],
                "requirement_type": "labelling",
                "authority": "European Commission",
                "as_of": "2026-11-01",
                "url": "https://eur-lex.europa.eu/eli/reg/2011/1169/oj",
            },
            {
                "id": "t_fin:ke",
                "kind": "finance",
                "title": "Kenyan export credit insurance",
                "source_id": "t_fin",
                "instruments": ["credit_insurance"],
                "eligible_exporter_countries": ["KE"],
                "provider": {"name": "Kenyan ECA", "type": "eca"},
                "min_amount": {"value": 1500000, "currency": "USD"},
                "sme_focus": True,
            },
        )
    ]
    store.upsert_records(records)
    drain_outbox(store, backend)


def _html(client: TestClient, path: str, **kw: Any) -> str:
    r = client.get(path, **kw)
    assert r.status_code == 200, r.text
    return r.text


@pytest.mark.usefixtures("loaded")
def test_lang_parameter_renders_french_and_sets_the_cookie(client: TestClient) -> None:
    r = client.get("/", params={"lang": "fr"})
    assert r.status_code == 200
    assert '<html lang="fr">' in r.text and "Salons à venir" in r.text
    assert "Upcoming fairs" not in r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("lang=fr;") and "Max-Age=31536000" in cookie
    assert "SameSite=lax" in cookie and "Path=/" in cookie
    assert r.headers["vary"].startswith("Accept-Language, Cookie")

    # The cookie keeps the choice on the next pages, without the parameter.
    results = _html(client, "/search", params={"q": "coffee"})
    assert "30 résultats pour « coffee »" in results and "Alimentation" in results
    record = _html(client, "/records/t_src:1")
    assert "Vu pour la première fois" in record and "Exporter vers l’Allemagne" in record
    market = _html(client, "/markets/FR", params={"origin": "KE"})
    assert "Exporter vers la France" in market and "Étiquetage" in market
    assert "Financements ouverts aux exportateurs de ce pays : Kenya" in market
    assert "vérifiez auprès de la source officielle" in market

    # Switching back to English replaces the cookie.
    r = client.get("/", params={"lang": "en"})
    assert "Upcoming fairs" in r.text and r.headers["set-cookie"].startswith("lang=en;")


@pytest.mark.usefixtures("loaded")
def test_accept_language_chooses_spanish(client: TestClient) -> None:
    html = _html(client, "/", headers={"accept-language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in html and "Próximas ferias" in html
    # No choice was made on the page, so nothing to remember.
    r = client.get("/", headers={"accept-language": "es"})
    assert "set-cookie" not in r.headers
    # q-values, not order, rank the languages.
    html = _html(client, "/search", headers={"accept-language": "en;q=0.2, fr;q=0.9"})
    assert "résultats" in html
    # The cookie (an explicit choice) wins over the browser's header.
    client.cookies.set("lang", "es")
    assert "Próximas ferias" in _html(client, "/", headers={"accept-language": "fr"})


@pytest.mark.parametrize("value", ["de", "xx-YY", "", "<script>alert(1)</script>"])
@pytest.mark.usefixtures("loaded")
def test_unknown_language_falls_back_to_english(client: TestClient, value: str) -> None:
    r = client.get("/", params={"lang": value})
    assert r.status_code == 200
    assert '<html lang="en">' in r.text and "Upcoming fairs" in r.text
    assert "set-cookie" not in r.headers and "<script>alert" not in r.text


@pytest.mark.usefixtures("loaded")
def test_error_pages_and_agency_pages_are_translated(client: TestClient) -> None:
    r = client.get("/records/t_src:nope?lang=es", headers={"accept": "text/html"})
    assert r.status_code == 404 and "No encontrado" in r.text and '<html lang="es">' in r.text
    signin = _html(client, "/agency/signin", params={"lang": "fr"})
    assert "Connexion des agences" in signin and "Clé d’API" in signin
    form = client.get("/agency/signin").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    r = client.post("/agency/signin", data={"csrf_token": csrf.group(1), "api_key": "wrong"})
    assert r.status_code == 401 and "Cette clé n’est pas valide" in r.text


@pytest.mark.usefixtures("loaded")
def test_dates_numbers_and_months_are_localised(client: TestClient, store: Store) -> None:
    fr = _html(client, "/records/t_src:1", params={"lang": "fr"})
    assert f"10 mars {YEAR} – 12 mars {YEAR}" in fr
    es = _html(client, "/records/t_src:1", params={"lang": "es"})
    assert f"10 mar {YEAR} – 12 mar {YEAR}" in es and "Alemania" in es
    en = _html(client, "/records/t_src:1", params={"lang": "en"})
    assert f"10 Mar {YEAR} – 12 Mar {YEAR}" in en and "Germany" in en

    # Amounts use each language's digit grouping (French: narrow no-break spaces).
    market = {lang: _html(client, f"/markets/FR?origin=KE&lang={lang}") for lang in i18n.LANGUAGES}
    assert "à partir de 1\u202f500\u202f000 USD" in market["fr"]
    assert "desde 1.500.000 USD" in market["es"]
    assert "from 1,500,000 USD" in market["en"]
    assert "as of 1 Nov 2026, check the official source" in market["en"]
    assert "à jour au 1 nov. 2026" in market["fr"]

    usual = fair("t_src:usual", "Usual fair", start_date=None, end_date=None, usual_month=10)
    store.upsert_records([usual])
    fr = _html(client, "/records/t_src:usual?lang=fr")
    assert "<dt>A lieu habituellement</dt><dd>en octobre</dd>" in fr
    assert "<dd>en octubre</dd>" in _html(client, "/records/t_src:usual?lang=es")


@pytest.mark.usefixtures("loaded")
def test_language_switch_keeps_the_other_parameters(client: TestClient) -> None:
    html = _html(
        client,
        "/search",
        params=[("q", "coffee"), ("market", "KE"), ("sector", "food"), ("lang", "fr")],
    )
    nav = re.search(r'<nav class="lang"[^>]*>(.*?)</nav>', html, re.S)
    assert nav is not None
    links = dict(re.findall(r'<a href="([^"]+)" hreflang="(\w+)"', nav.group(1)))
    # query-only links: the browser keeps the page's path (never one written from the request)
    by_lang = {lang: "/search" + href.replace("&amp;", "&") for href, lang in links.items()}
    assert by_lang == {
        lang: f"/search?q=coffee&market=KE&sector=food&lang={lang}" for lang in ("en", "fr", "es")
    }
    assert 'hreflang="fr" lang="fr" aria-current="true"' in nav.group(1)
    # Following a link switches the page, parameters and all.
    es = _html(client, by_lang["es"])
    assert "resultados para «coffee»" in es and 'name="market" value="KE"' in es

    market = _html(client, "/markets/FR", params={"hs": "0901", "origin": "KE"})
    assert 'href="?hs=0901&amp;origin=KE&amp;lang=es" hreflang="es"' in market


@pytest.mark.usefixtures("loaded")
def test_twenty_results_in_french_stay_small(client: TestClient) -> None:
    r = client.get(
        "/search",
        params={"kind": "fair", "size": "20", "lang": "fr"},
        headers={"accept-encoding": "gzip"},
    )
    assert r.status_code == 200 and r.text.count('<li class="item">') == 20
    assert r.headers["content-encoding"] == "gzip" and "max-age" in r.headers["cache-control"]
    assert len(r.content) < 30 * 1024, len(r.content)  # uncompressed, as a browser renders it
    assert "<script" not in r.text
    market = client.get("/markets/FR", params={"lang": "fr", "origin": "KE"})
    assert len(market.content) < 30 * 1024 and "<script" not in market.text


@pytest.mark.usefixtures("loaded")
def test_concurrent_requests_keep_their_own_language(client: TestClient) -> None:
    expected = {"en": "Upcoming fairs", "fr": "Salons à venir", "es": "Próximas ferias"}
    others = {lang: [t for k, t in expected.items() if k != lang] for lang in expected}

    def fetch(lang: str) -> tuple[str, str]:
        r = client.get("/", headers={"accept-language": lang})
        return lang, r.text

    with ThreadPoolExecutor(max_workers=6) as pool:
        for lang, html in pool.map(fetch, [*expected] * 8):
            assert expected[lang] in html and not any(t in html for t in others[lang]), lang


def test_export_to_uses_each_languages_articles() -> None:
    assert i18n.export_to_in("en", "FR") == "Export to France"
    assert i18n.export_to_in("fr", "US") == "Exporter vers les États-Unis"
    assert i18n.export_to_in("fr", "EU") == "Exporter vers l’Union européenne"
    assert i18n.export_to_in("es", "FR") == "Exportar a Francia"
    assert i18n.export_to_in("es", "EU") == "Exportar a la Unión Europea"
    assert i18n.export_to_in("es", "MERCOSUR") == "Exportar al Mercosur"
    assert articles.french("France") == "la France"
    assert articles.french("Kenya") == "le Kenya"
    assert articles.french("États-Unis") == "les États-Unis"
    assert articles.french("Allemagne") == "l’Allemagne"
    assert articles.french("Mexique") == "le Mexique"
    assert articles.french("Cuba") == "Cuba"
    assert articles.french("Communauté andine") == "la Communauté andine"
