"""Reminders before comment deadlines, entry into force, fair starts and registration deadlines,
through a real SMTP server (aiosmtpd): sent once per record, date and offset, again when a date
moves (saying so), in the subscriber's language, at least once across crashes; and the
calendars that carry the same dates with alarms."""

from __future__ import annotations

import time
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.services.mail import Mailer
from search_api.services.reminders import PENDING_RETRY_AFTER, send_reminders
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import reminders as rem
from tests.helpers.mail import Mailbox, html_of, text_of
from tests.helpers.reminders import ADVISOR, TODAY, on, reminders_to, rule, subscribe_requirements
from tests.helpers.subscriptions import german_food_fair, seed, subscribe_and_confirm

# The dates are read from the stored JSON with the database's own JSON operators.
pytestmark = pytest.mark.databases("sqlite", "postgresql")


def test_a_reminder_14_and_3_days_before_once_each(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, rule(), rule("t_req:other", markets=["US"], title="US rule"))
    view = subscribe_requirements(mail_client, mailbox)
    assert view["reminders"] == [14, 3]
    deadline = TODAY + timedelta(days=30)
    sent = []
    for day in range(0, 31):
        sent.append(send_reminders(mail_settings, store, now=on(TODAY + timedelta(days=day))))
    # Days 16 (14 before) and 27 (3 before) only; a second run the same day sends nothing.
    assert [d for d, n in enumerate(sent) if n] == [16, 27]
    assert send_reminders(mail_settings, store, now=on(TODAY + timedelta(days=27))) == 0
    first, second = reminders_to(mailbox)
    assert first["Subject"] == (
        f"Tradepoint: Comments close on {deadline.day} {deadline:%b} {deadline.year}: "
        "Front-of-pack nutrition labelling"
    )
    assert "(in 14 days)" in text_of(first) and "(in 3 days)" in text_of(second)
    assert "US rule" not in text_of(first) + text_of(second)
    assert first["List-Unsubscribe"] == f"<{view['links']['unsubscribe']}>"
    assert "Front-of-pack nutrition labelling" in html_of(first)


def test_a_moved_date_is_reminded_again_and_says_it_moved(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, rule(comment_deadline=(TODAY + timedelta(days=14)).isoformat()))
    subscribe_requirements(mail_client, mailbox)
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 1
    later = TODAY + timedelta(days=40)
    seed(store, backend, rule(comment_deadline=later.isoformat()))
    assert send_reminders(mail_settings, store, now=on(TODAY + timedelta(days=1))) == 0
    assert send_reminders(mail_settings, store, now=on(later - timedelta(days=14))) == 1
    moved = reminders_to(mailbox)[-1]
    old = TODAY + timedelta(days=14)
    assert f"the date moved: it was {old.day} {old:%b} {old.year}" in text_of(moved)
    assert "(in 14 days)" in text_of(moved)
    keys = rem.sent_reminders(store, 1)
    assert {(k[2], k[3]) for k in keys} == {(old.isoformat(), 14), (later.isoformat(), 14)}


def test_a_late_run_sends_one_reminder_with_the_days_left(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, rule(comment_deadline=(TODAY + timedelta(days=2)).isoformat()))
    subscribe_requirements(mail_client, mailbox)
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 1
    [msg] = reminders_to(mailbox)
    assert "(in 2 days)" in text_of(msg)
    # Both offsets passed are counted as sent: nothing more until the date moves.
    assert send_reminders(mail_settings, store, now=on(TODAY + timedelta(days=1))) == 0


@pytest.mark.parametrize(
    ("lang", "subject_start", "phrase"),
    [
        ("fr", "Tradepoint : Les commentaires se terminent le", "dans 14 jours"),
        ("es", "Tradepoint: Los comentarios se cierran el", "en 14 días"),
    ],
)
def test_reminders_are_in_the_subscribers_language(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
    lang: str,
    subject_start: str,
    phrase: str,
) -> None:
    seed(store, backend, rule(comment_deadline=(TODAY + timedelta(days=14)).isoformat()))
    subscribe_requirements(mail_client, mailbox, language=lang)
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 1
    msg = mailbox.messages[-1]
    assert msg["Subject"].startswith(subject_start), msg["Subject"]
    assert phrase in text_of(msg) and msg["Content-Language"] == lang


def test_fairs_get_reminders_of_their_start_and_registration_deadline(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    fair = german_food_fair(
        start_date=(TODAY + timedelta(days=14)).isoformat(),
        end_date=(TODAY + timedelta(days=16)).isoformat(),
        registration_deadline=(TODAY + timedelta(days=3)).isoformat(),
    )
    seed(store, backend, fair)
    subscribe_and_confirm(mail_client, mailbox, markets=["DE"], sectors=["food"], reminders=True)
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 1
    msg = reminders_to(mailbox)[-1]
    assert msg["Subject"] == "Tradepoint: 2 dates coming up"
    text = text_of(msg)
    assert "Registration closes on" in text and "(in 3 days)" in text
    assert "Starts on" in text and "(in 14 days)" in text
    assert text.index("Registration closes") < text.index("Starts on")  # soonest first


def test_no_reminders_unless_asked_and_none_after_unsubscribing(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, rule(comment_deadline=(TODAY + timedelta(days=3)).isoformat()))
    subscribe_and_confirm(mail_client, mailbox, kind=["requirement"], markets=["FR"])
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 0
    view = subscribe_requirements(mail_client, mailbox)
    mail_client.post(f"/subscriptions/{view['token']}/unsubscribe")
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 0


class CrashingMailer:
    """A real SMTP mailer whose process 'dies' on the first send, before or after SMTP took
    the message."""

    def __init__(self, settings: Settings, when: str) -> None:
        self.inner, self.when, self.calls = Mailer(settings), when, 0

    def send(self, msg: EmailMessage) -> None:
        self.calls += 1
        if self.calls == 1 and self.when == "before":
            raise RuntimeError("crash before sending")
        self.inner.send(msg)
        if self.calls == 1 and self.when == "after":
            raise RuntimeError("crash after sending")


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_never_loses_a_reminder(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
    when: str,
) -> None:
    seed(store, backend, rule(comment_deadline=(TODAY + timedelta(days=3)).isoformat()))
    subscribe_requirements(mail_client, mailbox)
    with pytest.raises(RuntimeError):
        send_reminders(
            mail_settings, store, now=on(TODAY), mailer=CrashingMailer(mail_settings, when)
        )
    sent_before = len(reminders_to(mailbox))
    assert sent_before == (1 if when == "after" else 0)
    [pending] = rem.emails_of(store, 1)
    assert pending.status == "pending"
    # Too soon to tell a crash from a run still sending: left alone.
    assert send_reminders(mail_settings, store, now=on(TODAY)) == 0
    later = on(TODAY) + PENDING_RETRY_AFTER + timedelta(minutes=1)
    assert send_reminders(mail_settings, store, now=later) == 1
    sent = reminders_to(mailbox)
    assert len(sent) == sent_before + 1
    assert len({m["Message-ID"] for m in sent}) == 1  # the same message, if twice
    assert send_reminders(mail_settings, store, now=later + timedelta(hours=1)) == 0
    assert [e.status for e in rem.emails_of(store, 1)] == ["sent"]


@pytest.mark.parametrize(
    "value", [[400], [-1], ["soon"], [1, 2, 3, 4, 5, 6], "sometimes", {"days": 3}]
)
def test_bad_reminder_days_are_refused(mail_client: TestClient, value: Any) -> None:
    body = {"email": ADVISOR, "kind": ["requirement"], "reminders": value}
    r = mail_client.post("/api/v1/subscriptions", json=body)
    assert r.status_code == 422 and "reminders" in r.json()["error"]["message"]


def test_the_subscribe_form_asks_for_reminders_with_a_checkbox(
    mail_client: TestClient, mailbox: Mailbox, store: Store
) -> None:
    form = {"email": ADVISOR, "kind": "requirement", "market": "FR", "reminders": "on"}
    assert mail_client.post("/subscriptions", data=form).status_code == 200
    [sub] = (
        store.session()
        .execute(__import__("sqlalchemy").text("SELECT reminder_days FROM subscriptions"))
        .all()
    )
    assert sub[0] in ([14, 3], "[14, 3]")


def test_serve_sends_reminders_in_the_background(
    mail_settings: Settings, mailbox: Mailbox, store: Store, backend: SearchBackend
) -> None:
    seed(store, backend, rule(comment_deadline=(TODAY + timedelta(days=3)).isoformat()))
    settings = mail_settings.model_copy(update={"reminder_check_minutes": 0.01})
    with TestClient(create_app(settings, store=store, backend=backend)) as c:
        subscribe_requirements(c, mailbox)
        deadline = time.monotonic() + 20
        while not reminders_to(mailbox):
            assert time.monotonic() < deadline, "serve sent no reminder"
            time.sleep(0.2)
    assert "(in 3 days)" in text_of(reminders_to(mailbox)[0])


# --------------------------------------------------------------------------- calendars


def events(body: bytes) -> list[Any]:
    return [c for c in Calendar.from_ical(body).walk() if c.name == "VEVENT"]


def test_requirements_calendar_has_deadlines_with_stable_uids_and_alarms(
    client: TestClient, store: Store
) -> None:
    deadline = TODAY + timedelta(days=30)
    store.upsert_records([rule(), rule("t_req:us", markets=["US"], title="US rule")])
    r = client.get("/api/v1/requirements.ics", params={"market": "FR"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    evs = {str(e["uid"]): e for e in events(r.content)}
    comments = evs["t_req:fop-comment-deadline@127.0.0.1"]
    in_force = evs["t_req:fop-effective-date@127.0.0.1"]
    assert set(evs) == {
        "t_req:fop-comment-deadline@127.0.0.1",
        "t_req:fop-effective-date@127.0.0.1",
    }
    assert str(comments["summary"]) == "Comments close: Front-of-pack nutrition labelling"
    assert comments.decoded("dtstart") == deadline
    assert comments.decoded("dtend") == deadline + timedelta(days=1)
    assert int(comments["sequence"]) == 1
    triggers = sorted(str(a["trigger"].to_ical(), "ascii") for a in comments.subcomponents)
    assert triggers == ["-P13DT15H", "-P2DT15H"]  # 09:00, 14 and 3 days before
    assert str(in_force["summary"]).startswith("Enters into force:")
    # The deadline moves: same UID, higher SEQUENCE, new date.
    store.upsert_records([rule(comment_deadline=(deadline + timedelta(days=10)).isoformat())])
    again = {
        str(e["uid"]): e for e in events(client.get("/api/v1/requirements.ics?market=FR").content)
    }
    moved = again["t_req:fop-comment-deadline@127.0.0.1"]
    assert int(moved["sequence"]) == 2 and moved.decoded("dtstart") == deadline + timedelta(days=10)
    # Alarms as asked, or none.
    quiet = client.get("/api/v1/requirements.ics", params={"market": "FR", "remind": ""})
    assert all(not e.subcomponents for e in events(quiet.content))
    near = client.get("/api/v1/requirements.ics", params={"market": "FR", "remind": "0,1"})
    triggers = {
        str(a["trigger"].to_ical(), "ascii") for e in events(near.content) for a in e.subcomponents
    }
    assert triggers == {"PT9H", "-PT15H"}  # 09:00 on the day, 09:00 the day before


def test_requirements_calendar_dates_window_and_refusals(client: TestClient, store: Store) -> None:
    past = TODAY - timedelta(days=200)
    store.upsert_records(
        [
            rule("t_req:old", comment_deadline=past.isoformat(), effective_date=past.isoformat()),
            rule(),
        ]
    )
    uids = {str(e["uid"]) for e in events(client.get("/api/v1/requirements.ics").content)}
    assert not any(u.startswith("t_req:old") for u in uids)  # older than 90 days
    window = client.get(
        "/api/v1/requirements.ics",
        params={"date_from": (past - timedelta(days=1)).isoformat(), "date_to": past.isoformat()},
    )
    assert {str(e["uid"]) for e in events(window.content)} == {
        "t_req:old-comment-deadline@127.0.0.1",
        "t_req:old-effective-date@127.0.0.1",
    }
    for bad in ({"remind": "soon"}, {"remind": "999"}):
        r = client.get("/api/v1/requirements.ics", params=bad)
        assert r.status_code == 400 and "remind" in r.json()["error"]["message"]
    assert client.get("/api/v1/requirements.ics", params={"market": "Atlantis"}).status_code == 400


def test_a_subscription_feed_carries_requirement_dates_with_its_reminders(
    mail_client: TestClient, mailbox: Mailbox, store: Store, backend: SearchBackend
) -> None:
    seed(store, backend, rule())
    view = subscribe_requirements(mail_client, mailbox, reminders=[7])
    feed = mail_client.get("/feeds/" + view["links"]["ics"].rsplit("/feeds/", 1)[1])
    evs = events(feed.content)
    assert {str(e["uid"]).split("@")[0] for e in evs} == {
        "t_req:fop-comment-deadline",
        "t_req:fop-effective-date",
    }
    assert {str(a["trigger"].to_ical(), "ascii") for e in evs for a in e.subcomponents} == {
        "-P6DT15H"
    }
