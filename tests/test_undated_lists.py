"""Issue 16: lists of fairs show a series without known next dates apart, under "Recurring
fairs — next dates not yet announced", after the dated ones and never labelled "Scheduled":
the web results page (by date and by relevance, page after page), the home page's upcoming
fairs, and email digests. On the starter catalogue alone (no demo), in-process."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from schedules.digests import send_digests
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.catalogue import FILES, load
from tests.helpers.mail import Mailbox, html_of, text_of
from tests.helpers.subscriptions import german_food_fair, seed, subscribe_and_confirm

HEADING = {
    "en": "Recurring fairs — next dates not yet announced",
    "fr": "Salons récurrents — prochaines dates pas encore annoncées",
    "es": "Ferias periódicas — próximas fechas aún no anunciadas",
}
ITEM = re.compile(r'class="t" href="/records/([^"]+)"')


@pytest.fixture
def catalogue(store: Store, backend: SearchBackend) -> dict[str, Any]:
    records = [r for stem in FILES for r in load(stem)]
    store.upsert_records(records)
    drain_outbox(store, backend)
    fairs = [r for r in records if r.kind == "fair"]
    return {
        "dated": {r.id for r in fairs if r.start_date},
        "series": {r.id for r in fairs if not r.start_date},
    }


def ids(html: str) -> list[str]:
    return [unquote(unescape(i)) for i in ITEM.findall(html)]


def split(html: str, lang: str = "en") -> tuple[list[str], list[str]]:
    """The records listed before the recurring heading, and those after it."""
    end = html.find('class="pages"')
    main = html[html.index("<h1>") : end if end > 0 else None]
    if HEADING[lang] not in main:
        return ids(main), []
    at = main.index(HEADING[lang])
    return ids(main[:at]), ids(main[at:])


def web(client: TestClient, **params: Any) -> str:
    resp = client.get("/search", params=params)
    assert resp.status_code == 200, resp.text
    return resp.text


def test_by_date_dated_fairs_come_first_and_series_apart_after_them(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    before, after = split(web(client, kind="fair", sort="date", size=100))
    assert set(before) == catalogue["dated"]
    assert set(after) == catalogue["series"] and len(after) == len(catalogue["series"])


@pytest.mark.parametrize("sort", ["date", "-date", "relevance"])
def test_paging_lists_every_fair_once_with_series_apart_on_every_page(
    client: TestClient, catalogue: dict[str, Any], sort: str
) -> None:
    seen: list[str] = []
    dated_pages = []
    for page in range(1, 20):
        html = web(
            client,
            kind="fair",
            q="fair" if sort == "relevance" else "",
            sort=sort,
            size=20,
            page=page,
        )
        before, after = split(html)
        if not before and not after:
            break
        # a page's records are the API's page, regrouped
        api = client.get(
            "/api/v1/search",
            params={
                "kind": "fair",
                "q": "fair" if sort == "relevance" else "",
                "sort": sort,
                "size": 20,
                "page": page,
            },
        ).json()
        assert sorted(before + after) == sorted(i["id"] for i in api["items"])
        assert set(before) <= catalogue["dated"] and set(after) <= catalogue["series"]
        if before:
            dated_pages.append(page)
        seen += before + after
    assert len(seen) == len(set(seen))  # nothing twice
    if sort != "relevance":
        assert set(seen) == catalogue["dated"] | catalogue["series"]
        # by date, dated fairs fill the first pages and series follow them
        assert dated_pages == list(range(1, len(dated_pages) + 1))


def test_a_series_is_never_labelled_scheduled(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    for params in ({"kind": "fair", "size": 100}, {"q": "food", "size": 100}):
        html = web(client, **params)
        _, after = split(html)
        block = html[html.index(HEADING["en"]) : html.index("</section>", html.index("<h1>"))]
        assert "s-scheduled" not in block and "Scheduled" not in block
        # every series says when it is usually held (or that its dates are not known)
        assert after
        assert block.count("usually in") + block.count("dates not known yet") == len(after)


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_the_heading_in_the_pages_language(
    client: TestClient, catalogue: dict[str, Any], lang: str
) -> None:
    html = web(client, kind="fair", sort="date", size=100, lang=lang)
    before, after = split(html, lang)
    assert set(after) == catalogue["series"] and set(before) == catalogue["dated"]


def test_a_page_of_other_records_has_no_recurring_block(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    html = web(client, kind="requirement", size=50)
    assert HEADING["en"] not in html and ids(html)


def test_the_home_pages_upcoming_fairs_are_dated_fairs(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    html = client.get("/").text
    upcoming = html[html.index("<h2>Upcoming fairs") :]
    listed = set(ids(upcoming))
    assert listed and listed <= catalogue["dated"]
    assert "usually in" not in upcoming


# --------------------------------------------------------------------------- email digests


@pytest.mark.databases("sqlite", "postgresql")
def test_a_fair_that_loses_its_dates_is_listed_apart_in_the_digest(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    # A digest watches a date window (upcoming fairs by default), which a series never
    # enters; a fair it follows can become one (its source drops the next edition's dates).
    seed(store, backend, german_food_fair("t_src:anuga", title="Anuga", city="Köln"))
    subscribe_and_confirm(mail_client, mailbox)
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0
    seed(
        store,
        backend,
        german_food_fair(
            "t_src:anuga",
            title="Anuga",
            city="Köln",
            start_date=None,
            end_date=None,
            usual_month=10,
        ),
        german_food_fair("t_src:new", title="Berlin Food Fair"),
    )
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    [msg] = [m for m in mailbox.to("advisor@example.org") if "/confirm" not in text_of(m)]
    text, html = text_of(msg), unescape(html_of(msg))
    for body in (text, html):
        changed, new = body.split("New (1)")
        assert "Changed (1)" in changed and "Berlin Food Fair" in new and HEADING["en"] not in new
        before, series = changed.split(HEADING["en"])
        assert "Anuga" not in before and "Anuga" in series
        assert "usually in October · Köln" in series
        assert "dates: was" in series and "now none" in series
        assert "scheduled" not in body.lower()
