"""Calendar and Atom feeds, parsed the way clients parse them (`icalendar`, `feedparser`)."""

from __future__ import annotations

from datetime import date, timedelta

import feedparser
import pytest
from fastapi.testclient import TestClient

from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.feeds import events
from tests.helpers.mail import Mailbox
from tests.helpers.sites import SiteServer
from tests.helpers.sources import html_source
from tests.helpers.subscriptions import (
    german_food_fair,
    path_of,
    seed,
    subscribe_and_confirm,
    upcoming,
)

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")

HOST = "tradepoint.example"


def test_subscription_calendar_updates_in_place(
    mail_client: TestClient, mailbox: Mailbox, store: Store, backend: SearchBackend
) -> None:
    berlin = german_food_fair()
    seed(
        store,
        backend,
        berlin,
        german_food_fair("t_src:cologne", title="Cologne Food Days", city="Köln"),
        german_food_fair("t_src:paris", title="Paris Food", country="FR", city="Paris"),
        german_food_fair("t_src:tools", title="Berlin Tools", sectors=["machinery"]),
    )
    view = subscribe_and_confirm(mail_client, mailbox)
    ics = path_of(view["links"]["ics"])

    r = mail_client.get(ics)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert (
        r.headers["etag"] and r.headers["last-modified"] and "max-age" in r.headers["cache-control"]
    )
    evs = events(r.content)
    assert set(evs) == {f"t_src:berlin@{HOST}", f"t_src:cologne@{HOST}"}
    ev = evs[f"t_src:berlin@{HOST}"]
    start = date.fromisoformat(upcoming(100))
    # All-day event: DTEND is the day after the last day.
    assert (ev["start"], ev["end"]) == (start, start + timedelta(days=3))
    assert ev["sequence"] == 1 and ev["status"] == "CONFIRMED"
    assert ev["summary"] == "Berlin Food Fair"
    assert ev["location"] == "Messe Berlin, Berlin, DE"
    assert ev["categories"] == ["food"]
    assert ev["url"].startswith("https://tradepoint.example/records/")

    # A calendar client polling an unchanged feed gets 304.
    again = mail_client.get(ics, headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    # New dates: same UID, higher SEQUENCE, so the event moves instead of duplicating.
    seed(store, backend, german_food_fair(start_date=upcoming(110), end_date=upcoming(111)))
    r2 = mail_client.get(ics, headers={"if-none-match": r.headers["etag"]})
    assert r2.status_code == 200
    ev = events(r2.content)[f"t_src:berlin@{HOST}"]
    assert ev["sequence"] == 2 and ev["start"] == start + timedelta(days=10)

    # Cancelled: still there, marked CANCELLED, so calendars strike it out.
    seed(
        store,
        backend,
        german_food_fair(start_date=upcoming(110), end_date=upcoming(111), status="cancelled"),
    )
    ev = events(mail_client.get(ics).content)[f"t_src:berlin@{HOST}"]
    assert ev["sequence"] == 3 and ev["status"] == "CANCELLED"
    assert "cancelled" in ev["summary"]


def test_atom_feed(
    mail_client: TestClient, mailbox: Mailbox, store: Store, backend: SearchBackend
) -> None:
    seed(store, backend, german_food_fair(summary="Suppliers <b>& buyers</b>"))
    view = subscribe_and_confirm(mail_client, mailbox, language="es")
    r = mail_client.get(path_of(view["links"]["atom"]))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Tradepoint alert"
    [entry] = feed.entries
    entry_id, updated = entry.id, entry.updated
    assert entry_id == f"tag:{HOST},2025:record:t_src:berlin"
    assert entry.link.startswith("https://tradepoint.example/records/")
    assert "Suppliers <b>& buyers</b>" in entry.summary  # text content, escaped in the XML
    assert [t.term for t in entry.tags] == ["food"]

    seed(store, backend, german_food_fair(status="cancelled"), german_food_fair("t_src:new"))
    feed = feedparser.parse(mail_client.get(path_of(view["links"]["atom"])).content)
    by_id = {e.id: e for e in feed.entries}
    assert set(by_id) == {entry_id, f"tag:{HOST},2025:record:t_src:new"}
    assert by_id[entry_id].title == "Berlin Food Fair (cancelado)"  # subscriber's language
    assert by_id[entry_id].updated_parsed >= feedparser.parse(r.content).entries[0].updated_parsed
    assert updated


def test_fairs_ics_honours_search_filters(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    seed(
        store,
        backend,
        german_food_fair(),
        german_food_fair("t_src:tools", title="Berlin Tools", sectors=["machinery"]),
        german_food_fair("t_src:nairobi", title="Nairobi Food", country="KE", city="Nairobi"),
        german_food_fair(
            "t_src:later", title="Late Food", start_date=upcoming(400), end_date=upcoming(401)
        ),
    )
    r = client.get("/api/v1/fairs.ics", params={"market": "Germany", "sector": "food"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    titles = {e["summary"] for e in events(r.content).values()}
    assert titles == {"Berlin Food Fair", "Late Food"}

    r = client.get("/api/v1/fairs.ics", params={"sector": "food", "date_to": upcoming(200)})
    assert {e["summary"] for e in events(r.content).values()} == {
        "Berlin Food Fair",
        "Nairobi Food",
    }

    r = client.get("/api/v1/fairs.ics", params={"market": "Atlantis"})
    assert r.status_code == 400 and "market" in r.json()["error"]["message"]


def test_unknown_feed_is_not_found(client: TestClient) -> None:
    r = client.get("/feeds/" + "x" * 43 + ".ics")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.crawl
def test_uids_are_stable_across_recrawls(
    settings: Settings,
    store: Store,
    backend: SearchBackend,
    client: TestClient,
    editable_fair_site: SiteServer,
) -> None:
    spec = html_source(editable_fair_site)
    store.add_source(spec)
    assert run_crawl(settings, spec.id, store).ok
    drain_outbox(store, backend)
    params = {"market": "DE", "date_from": "2000-01-01"}
    first = events(client.get("/api/v1/fairs.ics", params=params).content)
    assert any(e["summary"] == "Berlin Food & Beverage Fair 2027" for e in first.values())

    # The source page changes (the fair is cancelled) and is crawled again.
    index = editable_fair_site.page("fairs/index.html")
    index.write_text(
        index.read_text().replace(
            "https://schema.org/EventScheduled", "https://schema.org/EventCancelled", 1
        )
    )
    assert run_crawl(settings, spec.id, store).ok
    drain_outbox(store, backend)
    second = events(client.get("/api/v1/fairs.ics", params=params).content)
    assert set(second) == set(first)
    [uid] = [u for u, e in first.items() if e["summary"].startswith("Berlin Food")]
    assert second[uid]["status"] == "CANCELLED"
    assert second[uid]["sequence"] == first[uid]["sequence"] + 1
    unchanged = [u for u in first if u != uid]
    assert unchanged and all(second[u] == first[u] for u in unchanged)


@pytest.mark.parametrize("path", ["/api/v1/fairs.ics?size=1", "/api/v1/fairs.ics?page=3"])
def test_fairs_ics_is_the_whole_result_not_a_page(
    client: TestClient, store: Store, backend: SearchBackend, path: str
) -> None:
    seed(store, backend, *(german_food_fair(f"t_src:{i}", title=f"Fair {i}") for i in range(3)))
    assert len(events(client.get(path).content)) == 3
