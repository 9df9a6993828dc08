"""Class: links and redirects built from what the visitor sent. Whatever path or parameter a
request carries (`//evil.example/search`, `/\\evil.example`, a `next=` of any kind), every link
and redirect the answer holds stays on this site."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in

ORIGIN = "http://testserver"
HTML = {"accept": "text/html"}

HOSTILE_PATHS = [
    "//evil.example/search",
    "//evil.example/search?q=coffee&lang=es",
    "///evil.example/search",
    "/\\evil.example/search",
    "//evil.example",
    "/%2F%2Fevil.example/search",
    "//evil.example/records/x",
    "//evil.example/agency/signin",
]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "action", "src") and value is not None:
                self.urls.append(value)


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def off_site(page_url: str, urls: list[str]) -> list[str]:
    """The URLs that a browser on `page_url` would resolve to the attacker's host. Browsers
    read a backslash as a slash in http(s) URLs, so resolve with that reading too."""
    return [
        url
        for url in urls
        for spelling in {url, url.replace("\\", "/")}
        if "evil.example" in urlsplit(urljoin(page_url, spelling)).netloc
    ]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_links_on_a_page_for_a_hostile_path_stay_on_this_site(
    client: TestClient, path: str
) -> None:
    page_url = ORIGIN + path
    r = client.get(page_url, headers=HTML, follow_redirects=False)
    assert r.status_code < 500
    if r.is_redirect:
        assert not off_site(page_url, [r.headers["location"]])
        return
    found = links(r.text)
    assert any("lang=fr" in u for u in found), "the page has its language links"
    assert not off_site(page_url, found), found


def test_language_links_keep_the_page_and_its_parameters(client: TestClient) -> None:
    r = client.get("/search?q=coffee&market=KE&lang=en", headers=HTML)
    assert r.status_code == 200
    french = [u for u in links(r.text) if "lang=fr" in u]
    assert french
    target = urlsplit(urljoin(ORIGIN + "/search?q=coffee&market=KE&lang=en", french[0]))
    assert target.netloc == "testserver"
    assert target.path == "/search"
    assert "q=coffee" in target.query and "market=KE" in target.query
    assert "lang=en" not in target.query


@pytest.mark.parametrize(
    "next_",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_sign_in_and_out_never_redirect_off_site(
    client: TestClient, store: Store, next_: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    # A `next`/`return_to` the visitor adds is not a way off the site (none is honoured today;
    # whatever is added later must stay same-origin).
    for name in ("next", "return_to", "redirect"):
        r = client.get(f"/agency/signin?{name}={next_}", headers=HTML, follow_redirects=False)
        assert not off_site(ORIGIN + "/agency/signin", links(r.text))
    r = sign_in(client, key)
    assert r.status_code == 303
    assert not off_site(ORIGIN + "/agency/signin", [r.headers["location"]])
