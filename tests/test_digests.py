"""Email digests through a real SMTP server: only what is new, changed or cancelled, in the
subscriber's language, never twice and never skipped, even when a run dies midway."""

from __future__ import annotations

import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from schedules.digests import PENDING_RETRY_AFTER, send_digests
from schedules.service import SchedulerService
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.search.tantivy.backend import RELOAD_INTERVAL
from search_api.services.crawls import run_crawl
from search_api.services.mail import Mailer, MailError
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import subscriptions as subs
from search_api.store.base import utcnow
from tests.helpers.feeds import events
from tests.helpers.mail import Mailbox, html_of, text_of
from tests.helpers.scheduling import JobEvents, run_now
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


def digests_to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in mailbox.to(address) if "/confirm" not in text_of(m)]


def section(text: str, title: str) -> str:
    """The lines of one digest section ("== Cancelled (1) ==" up to the next one)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"== {title} ("))
    out = []
    for line in lines[start + 1 :]:
        if line.startswith("== ") or line == "-- ":
            break
        out.append(line)
    return "\n".join(out)


class CrashingMailer:
    """A real SMTP mailer whose process 'dies' on a chosen send: before handing the message to
    SMTP (`when="before"`) or right after SMTP accepted it (`when="after"`)."""

    def __init__(self, settings: Settings, crash_on: int, when: str) -> None:
        self.inner, self.crash_on, self.when, self.calls = Mailer(settings), crash_on, when, 0

    def send(self, msg: EmailMessage) -> None:
        self.calls += 1
        if self.calls == self.crash_on and self.when == "before":
            raise RuntimeError("simulated crash before sending")
        self.inner.send(msg)
        if self.calls == self.crash_on and self.when == "after":
            raise RuntimeError("simulated crash after sending")


def test_digest_has_new_changed_and_cancelled_only(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(
        store,
        backend,
        german_food_fair("t_src:a", title="A Moved Fair"),
        german_food_fair("t_src:b", title="B Venue Fair"),
        german_food_fair("t_src:c", title="C Doomed Fair"),
        german_food_fair("t_src:d", title="D Reworded Fair", summary="Old words"),
        german_food_fair("t_src:f", title="F Vanishing Fair"),
        german_food_fair("t_src:x", title="X Quiet Fair"),
    )
    view = subscribe_and_confirm(mail_client, mailbox)
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0
    assert digests_to(mailbox, "advisor@example.org") == []

    seed(
        store,
        backend,
        german_food_fair(
            "t_src:a", title="A Moved Fair", start_date=upcoming(120), end_date=upcoming(121)
        ),
        german_food_fair("t_src:b", title="B Venue Fair", venue="CityCube"),
        german_food_fair("t_src:c", title="C Doomed Fair", status="cancelled"),
        german_food_fair("t_src:d", title="D Reworded Fair", summary="New words"),
        german_food_fair("t_src:e", title="<script>alert(1)</script> Expo"),
        german_food_fair("t_src:f", title="F Vanishing Fair"),
        german_food_fair("t_src:x", title="X Quiet Fair"),
        # Not in the saved search: other market, other sector.
        german_food_fair("t_src:p", title="Paris Food", country="FR", city="Paris"),
        german_food_fair("t_src:m", title="Berlin Machines", sectors=["machinery"]),
    )
    # The source stops publishing F: withdrawn (what a crawl does after repeated misses).
    others = {r.id for r in store.iter_records() if r.id != "t_src:f"}
    assert store.mark_missing("t_src", others, withdraw_after=1) == 1
    drain_outbox(store, backend)

    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    [msg] = digests_to(mailbox, "advisor@example.org")
    assert msg["Subject"] == "Tradepoint: 5 updates to your alert"
    assert msg["List-Unsubscribe"] == f"<{view['links']['unsubscribe']}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = text_of(msg), html_of(msg)

    cancelled = section(text, "Cancelled")
    assert "C Doomed Fair" in cancelled
    assert "status: was scheduled, now cancelled" in cancelled
    changed = section(text, "Changed")
    assert "A Moved Fair" in changed and "B Venue Fair" in changed
    assert (
        f"dates: was {upcoming(100)} – {upcoming(102)}, now {upcoming(120)} – {upcoming(121)}"
        in changed
    )
    assert "venue: was Messe Berlin, now CityCube" in changed
    assert "<script>alert(1)</script> Expo" in section(text, "New")
    assert "F Vanishing Fair" in section(text, "No longer listed by the source")
    for quiet in ("D Reworded Fair", "X Quiet Fair", "Paris Food", "Berlin Machines"):
        assert quiet not in text and quiet not in html
    assert view["links"]["unsubscribe"] in text and view["links"]["unsubscribe"] in html

    # The HTML part escapes what the crawled pages said.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Expo" in html
    assert "<script>" not in html

    # Nothing changed since: nothing is sent.
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0
    assert len(digests_to(mailbox, "advisor@example.org")) == 1

    # The next change is reported against what was sent, not against the subscription date.
    seed(store, backend, german_food_fair("t_src:d", title="D Reworded Fair", venue="Hall 9"))
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    latest = text_of(digests_to(mailbox, "advisor@example.org")[-1])
    assert "D Reworded Fair" in latest and "venue: was Messe Berlin, now Hall 9" in latest
    assert "C Doomed Fair" not in latest and "A Moved Fair" not in latest


def test_the_same_fair_from_two_sources_is_one_entry_and_stays_one(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    subscribe_and_confirm(mail_client, mailbox)
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0
    seed(
        store,
        backend,
        german_food_fair("t_src:gf", title="Grüne Food Expo"),
        german_food_fair("t_other:gf", title="Grune Food Expo", source_id="t_other"),
    )
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    [msg] = digests_to(mailbox, "advisor@example.org")
    assert msg["Subject"] == "Tradepoint: 1 update to your alert"
    # nothing changed: the record listed as the other is neither new nor gone next time
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 0


def test_only_subscriptions_of_the_frequency_are_sent(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, german_food_fair())
    subscribe_and_confirm(mail_client, mailbox, frequency="weekly")
    seed(store, backend, german_food_fair(status="cancelled"))
    assert send_digests(mail_settings, "daily", store=store, backend=backend) == 0
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    with pytest.raises(ValueError, match="frequency"):
        send_digests(mail_settings, "hourly", store=store, backend=backend)


def test_digest_in_the_subscribers_language(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, german_food_fair())
    subscribe_and_confirm(mail_client, mailbox, language="fr")
    seed(store, backend, german_food_fair(status="cancelled"))
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    [msg] = digests_to(mailbox, "advisor@example.org")
    assert msg["Subject"] == "Tradepoint : 1 nouveauté pour votre alerte"
    assert msg["Content-Language"] == "fr"
    text, html = text_of(msg), html_of(msg)
    assert "Berlin Food Fair" in section(text, "Annulés")
    assert "statut: avant prévu, maintenant annulé" in text
    assert "Se désabonner" in text and "Se désabonner" in html
    assert "Allemagne" in text


def _two_subscribers_with_news(
    client: TestClient, mailbox: Mailbox, store: Store, backend: SearchBackend
) -> None:
    seed(store, backend, german_food_fair())
    subscribe_and_confirm(client, mailbox, email="first@example.org")
    subscribe_and_confirm(client, mailbox, email="second@example.org")
    seed(store, backend, german_food_fair(status="cancelled"))


def test_crash_between_two_sends_neither_duplicates_nor_skips(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    _two_subscribers_with_news(mail_client, mailbox, store, backend)
    start = utcnow()
    crashing = CrashingMailer(mail_settings, crash_on=2, when="before")
    with pytest.raises(RuntimeError, match="simulated crash"):
        send_digests(mail_settings, "weekly", start, store=store, backend=backend, mailer=crashing)
    crashing.inner.close()
    assert len(digests_to(mailbox, "first@example.org")) == 1
    assert digests_to(mailbox, "second@example.org") == []

    # A run soon after leaves the second one alone: it might still be in flight elsewhere.
    soon = start + timedelta(minutes=1)
    assert send_digests(mail_settings, "weekly", soon, store=store, backend=backend) == 0

    # The next scheduled run sends what the dead run had prepared, and only that.
    later = start + PENDING_RETRY_AFTER + timedelta(minutes=1)
    assert send_digests(mail_settings, "weekly", later, store=store, backend=backend) == 1
    assert send_digests(mail_settings, "weekly", later, store=store, backend=backend) == 0
    first, second = (digests_to(mailbox, a) for a in ("first@example.org", "second@example.org"))
    assert len(first) == 1 and len(second) == 1
    assert "Berlin Food Fair" in section(text_of(second[0]), "Cancelled")


def test_crash_after_smtp_accepted_resends_the_same_message(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    _two_subscribers_with_news(mail_client, mailbox, store, backend)
    start = utcnow()
    crashing = CrashingMailer(mail_settings, crash_on=1, when="after")
    with pytest.raises(RuntimeError, match="simulated crash"):
        send_digests(mail_settings, "weekly", start, store=store, backend=backend, mailer=crashing)
    crashing.inner.close()
    [sent] = digests_to(mailbox, "first@example.org")

    later = start + PENDING_RETRY_AFTER + timedelta(minutes=1)
    assert send_digests(mail_settings, "weekly", later, store=store, backend=backend) == 2
    assert send_digests(mail_settings, "weekly", later, store=store, backend=backend) == 0
    # At-least-once: the unrecorded send is repeated, as the same message (same Message-ID),
    # which mail clients show once.
    [first, again] = digests_to(mailbox, "first@example.org")
    assert first["Message-ID"] == again["Message-ID"] == sent["Message-ID"]
    assert text_of(first) == text_of(again)
    assert len(digests_to(mailbox, "second@example.org")) == 1


def test_refused_send_is_not_recorded_and_is_sent_next_time(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, german_food_fair())
    view = subscribe_and_confirm(mail_client, mailbox)
    seed(store, backend, german_food_fair(status="cancelled"))
    mailbox.refuse.add("advisor@example.org")
    with pytest.raises(MailError):
        send_digests(mail_settings, "weekly", store=store, backend=backend)
    sub = subs.get_by_token(store, view["token"])
    assert sub is not None and subs.digests_of(store, sub.id) == []

    mailbox.refuse.clear()
    assert send_digests(mail_settings, "weekly", store=store, backend=backend) == 1
    [msg] = digests_to(mailbox, "advisor@example.org")
    assert "Berlin Food Fair" in section(text_of(msg), "Cancelled")


@pytest.mark.crawl
def test_as_a_new_user_an_advisor_hears_that_a_fair_was_cancelled(
    mail_client: TestClient,
    mailbox: Mailbox,
    settings: Settings,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
    editable_fair_site: SiteServer,
) -> None:
    # A fair calendar is crawled by the real crawler, weekly.
    spec = html_source(editable_fair_site).model_copy(update={"schedule": "0 4 * * 1"})
    store.add_source(spec)
    assert run_crawl(settings, spec.id, store).ok
    drain_outbox(store, backend)

    # An advisor subscribes to food fairs in Germany and confirms with the emailed link.
    r = mail_client.post(
        "/api/v1/subscriptions",
        json={"email": "advisor@chamber.example", "markets": ["Germany"], "sectors": ["food"]},
    )
    assert r.status_code == 202
    [confirmation] = mailbox.to("advisor@chamber.example")
    link = next(x for x in text_of(confirmation).split() if x.endswith("/confirm"))
    page = mail_client.get(path_of(link), headers={"accept": "text/html"})
    assert page.status_code == 200 and "confirmed" in page.text

    # The calendar link on the page goes into a calendar app.
    ics = next(
        part.split('"')[0]
        for part in page.text.split('href="')[1:]
        if part.startswith("https://") and '.ics"' in part
    )
    calendar = events(mail_client.get(path_of(ics)).content)
    [(uid, berlin)] = calendar.items()
    assert berlin["summary"] == "Berlin Food & Beverage Fair 2027"
    assert berlin["status"] == "CONFIRMED"

    # The organiser cancels the fair on its site; the scheduler's next crawl picks it up.
    index = editable_fair_site.page("fairs/index.html")
    index.write_text(
        index.read_text().replace(
            "https://schema.org/EventScheduled", "https://schema.org/EventCancelled", 1
        )
    )
    scheduler = SchedulerService(settings.model_copy(update={"scheduler_jitter_seconds": 0}), store)
    scheduler.start()
    try:
        job_events = JobEvents(scheduler.scheduler)
        run_now(scheduler, f"crawl:{spec.id}")  # its cron time has come
        job_events.wait_executed(f"crawl:{spec.id}")
    finally:
        scheduler.stop(grace=0)
    assert store.list_runs(spec.id, limit=1)[0].status == "succeeded"

    # The digest run (as the scheduler calls it: settings only) tells the advisor.
    assert send_digests(mail_settings, "weekly") == 1
    [digest] = digests_to(mailbox, "advisor@chamber.example")
    text = text_of(digest)
    cancelled = section(text, "Cancelled")
    assert "Berlin Food & Beverage Fair 2027" in cancelled
    assert "status: was scheduled, now cancelled" in cancelled
    assert "Berlin Food &amp; Beverage Fair 2027" in html_of(digest)

    # And the calendar marks the same event cancelled, once the API's searcher has seen the
    # crawl's commit (it re-checks the index at most every RELOAD_INTERVAL seconds).
    deadline = time.monotonic() + 10 * RELOAD_INTERVAL
    after = events(mail_client.get(path_of(ics)).content)
    while after[uid]["status"] != "CANCELLED" and time.monotonic() < deadline:
        time.sleep(RELOAD_INTERVAL / 5)
        after = events(mail_client.get(path_of(ics)).content)
    assert after[uid]["status"] == "CANCELLED"
    assert after[uid]["sequence"] == berlin["sequence"] + 1


def test_snapshots_of_fairs_long_past_or_gone_are_pruned(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    # A subscription to upcoming fairs must not keep (and look up at every run) every fair it
    # ever reported.
    seed(
        store,
        backend,
        german_food_fair(
            "t_src:soon", title="Soon Fair", start_date=upcoming(3), end_date=upcoming(4)
        ),
        german_food_fair("t_src:later", title="Later Fair"),
        german_food_fair("t_src:doomed", title="Doomed Fair"),
    )
    view = subscribe_and_confirm(mail_client, mailbox)
    sub = subs.get_by_token(store, view["token"])
    assert sub is not None
    assert set(subs.load_snapshots(store, sub.id)) == {"t_src:soon", "t_src:later", "t_src:doomed"}
    others = {r.id for r in store.iter_records() if r.id != "t_src:doomed"}
    store.mark_missing("t_src", others, withdraw_after=1)
    drain_outbox(store, backend)

    now = utcnow()
    assert send_digests(mail_settings, "weekly", now, store=store, backend=backend) == 1
    assert "Doomed Fair" in text_of(digests_to(mailbox, "advisor@example.org")[-1])
    assert subs.load_snapshots(store, sub.id)["t_src:doomed"].gone

    # A week on: the withdrawn fair's snapshot is no longer needed; Soon Fair has ended but
    # is kept a while in case its organiser changes it.
    week = now + timedelta(days=7)
    assert send_digests(mail_settings, "weekly", week, store=store, backend=backend) == 0
    assert set(subs.load_snapshots(store, sub.id)) == {"t_src:soon", "t_src:later"}

    # Two months on: Soon Fair is long past and forgotten, without a word to the advisor.
    months = now + timedelta(days=60)
    assert send_digests(mail_settings, "weekly", months, store=store, backend=backend) == 0
    assert set(subs.load_snapshots(store, sub.id)) == {"t_src:later"}
    assert len(digests_to(mailbox, "advisor@example.org")) == 1
