"""Every main public page on a catalogue-only data dir (the starter catalogue and the built-in
sources registered, no demo), in English, French and Spanish: well-formed HTML in the page's
language, and no raw JSON, Python repr or internal id anywhere a person reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from crawlers.demo import builtin_sources, catalogue_sources
from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.catalogue import FILES, load
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.subscriptions import BASE_URL, subscribe_and_confirm

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
VOID |= {"source", "track", "wbr"}
# Closed implicitly by HTML's rules (a new <li>, <p>, <dt> ...): not counted as unbalanced.
OPTIONAL_END = frozenset({"li", "p", "dt", "dd", "option", "tr", "td", "th"})


class Page(HTMLParser):
    """The text a person reads (and titles, placeholders, labels in attributes), and the tags
    left open or closed out of turn."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.lang: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        for name in ("title", "placeholder", "aria-label", "alt", "value"):
            if values.get(name) and not (tag == "input" and values.get("type") == "hidden"):
                self.text.append(str(values[name]))
        if tag in ("style", "script"):
            self._skip += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        if tag in VOID:
            return
        while self.stack and self.stack[-1] != tag and self.stack[-1] in OPTIONAL_END:
            self.stack.pop()
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def read(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


# What must never reach a reader: Python's repr of objects, dicts and None, JSON objects,
# and ids (a record's "starter_finance:afdb-...", a source's "int_ifc_gtfp_partner_banks",
# a vocabulary key such as "partner_bank").
FORBIDDEN = [
    (re.compile(r"<built-in|<bound method|object at 0x|\bNone\b|\bTrue\b|\bFalse\b"), "repr"),
    (re.compile(r"\{'|\{\"|\":\s|\[\{"), "JSON or dict"),
    (re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b"), "snake_case id"),
    (re.compile(r"\b[a-z]+_[a-z]+:[0-9a-z-]+"), "record id"),
]


def problems(html: str, lang: str) -> list[str]:
    page = read(html)
    found = [f"html lang={page.lang!r}, expected {lang!r}"] if page.lang != lang else []
    found += page.errors
    open_tags = [t for t in page.stack if t not in OPTIONAL_END]
    if open_tags:
        found.append(f"left open: {open_tags}")
    text = " ".join(" ".join(page.text).split())
    for pattern, what in FORBIDDEN:
        for match in pattern.finditer(text):
            around = text[max(0, match.start() - 60) : match.end() + 60]
            found.append(f"{what}: {match.group(0)!r} in …{around}…")
    return found


@pytest.fixture
def catalogue_only(store: Store, backend: SearchBackend) -> None:
    """What `tradepoint catalogue` leaves: the built-in sources registered, the starter
    catalogue loaded through the curated format, indexed."""
    for spec in [*builtin_sources(), *catalogue_sources()]:
        store.add_source(spec, replace=True)
    store.upsert_records([r for stem in FILES for r in load(stem)])
    drain_outbox(store, backend)


@pytest.fixture
def mail_client(
    settings: Settings, store: Store, backend: SearchBackend, catalogue_only: None
) -> Iterator[tuple[TestClient, Mailbox]]:
    with smtp_server() as box:
        mail = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": box.port, "base_url": BASE_URL}
        )
        app = create_app(mail, store=store, backend=backend, background_indexer=False)
        with TestClient(app, base_url=BASE_URL) as c:
            yield c, box


def record_paths(client: TestClient) -> list[str]:
    """A record page of each kind, and of a dated and an undated fair."""
    paths = []
    for params in (
        {"kind": "fair", "sort": "date", "date_from": "2026-01-01"},
        {"kind": "fair", "q": "Heimtextil"},
        {"kind": "requirement", "q": "LUCID"},
        {"kind": "finance", "q": "AfDB"},
        {"kind": "finance", "q": "IFC Global Trade Finance"},
    ):
        items = client.get("/api/v1/search", params={**params, "size": 1}).json()["items"]
        assert items, params
        paths.append(f"/records/{items[0]['id']}")
    return paths


PAGES = [
    "/",
    "/search",
    "/search?q=coffee",
    "/search?kind=fair",
    "/search?kind=fair&sort=date",
    "/search?kind=requirement&market=FR",
    "/search?kind=finance",
    "/search?kind=finance&origin=KE",
    "/search?q=anacardos",
    "/search?hs=0801&market=US",
    "/markets/FR",
    "/markets/EU",
    "/markets/FR?hs=090121&origin=KE",
    "/markets/US?hs=0801&origin=VN",
    "/markets/DE?hs=5102&origin=PE",
    "/markets/DE?product=alpaca",
]


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_public_pages_show_no_json_repr_or_ids(
    mail_client: tuple[TestClient, Mailbox], lang: str
) -> None:
    client, box = mail_client
    view = subscribe_and_confirm(client, box, markets=["FR"], sectors=[], kind=["fair"])
    token = view["token"]
    paths = [
        *PAGES,
        *record_paths(client),
        f"/subscriptions/{token}",
        f"/subscriptions/{token}/unsubscribe",
    ]
    failures = {}
    for path in paths:
        sep = "&" if "?" in path else "?"
        resp = client.get(f"{path}{sep}lang={lang}", headers={"accept": "text/html"})
        assert resp.status_code == 200, (path, resp.status_code)
        found = problems(resp.text, lang)
        if found:
            failures[path] = found[:5]
    form = {"email": "advisor@example.org", "kind": "fair", "market": "DE", "frequency": "weekly"}
    resp = client.post(f"/subscriptions?lang={lang}", data=form)
    assert resp.status_code == 200, resp.text
    if found := problems(resp.text, lang):
        failures["POST /subscriptions"] = found[:5]
    assert not failures, failures


def test_the_walk_sees_what_it_looks_for() -> None:
    """The checks themselves: each kind of leak is caught, a clean page passes."""
    clean = '<html lang="fr"><body><p>Salons <b>récurrents</b></p><ul><li>a<li>b</ul></body></html>'
    assert problems(clean, "fr") == []
    for leak in (
        "<built-in method items of dict object at 0x7f>",
        "{'exhibitors': 3}",
        '{"a": 1}',
        "None",
        "source starter_requirements",
        "starter_finance:afdb-trade-finance-program",
    ):
        assert problems(f'<html lang="en"><p>{leak}</p></html>', "en"), leak
    assert problems('<html lang="en"><div><span></div></html>', "en")
    assert problems('<html lang="en"><p>ok</p></html>', "fr")
