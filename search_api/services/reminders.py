"""Reminders before the dates that matter: a requirement's comment deadline and entry into force,
a fair's start and (where its source gives one) its registration deadline.

A subscription that asks for reminders (`reminders`: days before, default 14 and 3) gets an
email when one of those dates of a record its saved search finds is that many days away, in
its language. The saved search's date window is left out: a reminder looks at the record's
deadlines, not at the dates the window selects on (a rule in force in 2028 still has its
comment deadline next week).

Each reminder is sent once per record, date field, date and offset: when a date moves, its
reminders come again for the new date and say from which date it moved. A run that comes late
(the service was down) sends one reminder with the days actually left, and counts the offsets
it passed as sent. All the reminders due for one subscription go in one email.

Delivery is the digests' (schedules/digests.py, store/reminders.py): a pending row before
SMTP, the sent reminders recorded with the "sent" mark in one transaction after; a pending row
left by a crash is sent again (same Message-ID) after `PENDING_RETRY_AFTER`.

Who runs it: `tradepoint serve` (a background thread, every
`TRADEPOINT_REMINDER_CHECK_MINUTES`) and `tradepoint scheduler` (the `reminders` job); a lease
lets one of them at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from search_api.domain.i18n import fmt_date_in
from search_api.domain.records import AnyRecord, stored_records
from search_api.domain.reminders import DATE_FIELDS
from search_api.errors import MailError
from search_api.search.match import record_matches, without_dates
from search_api.services.feeds import record_link, saved_search_of
from search_api.services.mail import (
    Mailer,
    build_message,
    describe_search,
    new_message_id,
    render,
    strings,
)
from search_api.services.subscriptions import links
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import reminders as rem
from search_api.store import subscriptions as subs
from search_api.store.base import utcnow
from search_api.store.leases import Lease
from search_api.store.tables import ReminderEmailRow, SubscriptionRow

log = logging.getLogger(__name__)

PENDING_RETRY_AFTER = timedelta(minutes=30)
LEASE_NAME = "reminders"
LEASE_SECONDS = 600.0


class MailSender(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


# --------------------------------------------------------------------------- what is due


def due_entries(
    settings: Settings,
    sub: SubscriptionRow,
    candidates: Iterable[AnyRecord],
    sent: Iterable[rem.ReminderKey],
    today: date,
) -> tuple[list[dict[str, Any]], list[rem.ReminderKey]]:
    """The reminders due for `sub` today: the email's entries and the keys they send."""
    offsets = [int(n) for n in sub.reminder_days or []]
    query = without_dates(saved_search_of(sub).to_query(today))
    done = set(sent)
    # The last date each (record, field) was reminded of: a different date now has moved.
    last_date: dict[tuple[str, str], str] = {}
    for record_id, field, day, _ in sorted(done, key=lambda k: k[2]):
        last_date[(record_id, field)] = day
    entries: list[dict[str, Any]] = []
    keys: list[rem.ReminderKey] = []
    for record in candidates:
        if not record_matches(query, record):
            continue
        for field in DATE_FIELDS[record.kind]:
            when = getattr(record, field, None)
            if when is None or when < today:
                continue
            left = (when - today).days
            day = when.isoformat()
            new = [n for n in offsets if left <= n and (record.id, field, day, n) not in done]
            if not new:
                continue
            before = last_date.get((record.id, field))
            entries.append(
                {
                    "record_id": record.id,
                    "kind": record.kind,
                    "title": record.title,
                    "field": field,
                    "date": day,
                    "days_left": left,
                    "moved_from": before if before and before != day else None,
                    "cancelled": getattr(record, "status", None) == "cancelled",
                    "link": record_link(settings, record.id),
                }
            )
            keys += [(record.id, field, day, n) for n in new]
    entries.sort(key=lambda e: (e["date"], e["title"]))
    return entries, keys


def candidates(store: Store, today: date, horizon: int) -> list[AnyRecord]:
    """Records with a date that matters between today and `horizon` days ahead."""
    end = today + timedelta(days=horizon)
    found = rem.records_dated_between(store, DATE_FIELDS, today.isoformat(), end.isoformat())
    return list(stored_records(found))


# --------------------------------------------------------------------------- the email


def _when(t: Any, lang: str, days_left: int) -> str:
    if days_left == 0:
        return str(t("today"))
    if days_left == 1:
        return str(t("tomorrow"))
    return str(t("in_days", n=days_left))


def compose(
    settings: Settings, sub: SubscriptionRow, entries: list[dict[str, Any]], message_id: str
) -> EmailMessage:
    lang = sub.language
    t = strings(settings, lang)
    shown = [
        {
            **e,
            "what": t(f"reminder_{e['field']}", date=fmt_date_in(lang, e["date"])),
            "when": _when(t, lang, e["days_left"]),
            "moved": t("moved_from", date=fmt_date_in(lang, e["moved_from"]))
            if e["moved_from"]
            else None,
        }
        for e in entries
    ]
    if len(entries) == 1:
        subject = t("reminder_subject_one", what=shown[0]["what"], title=entries[0]["title"])
    else:
        subject = t("reminder_subject_many", count=len(entries))
    urls = links(settings, sub)
    text, html = render(
        settings,
        "reminder",
        lang,
        subject=subject,
        email=sub.email,
        description=describe_search(settings, saved_search_of(sub), lang),
        entries=shown,
        manage_url=urls["manage"],
        unsubscribe_url=urls["unsubscribe"],
        feed_url=urls.get("ics", urls["manage"]),
    )
    return build_message(
        settings,
        to=sub.email,
        subject=subject,
        text=text,
        html=html,
        unsubscribe_url=urls["unsubscribe"],
        lang=lang,
        message_id=message_id,
    )


# --------------------------------------------------------------------------- sending


def _deliver(
    settings: Settings,
    store: Store,
    mailer: MailSender,
    sub: SubscriptionRow,
    email: ReminderEmailRow,
    now: datetime,
) -> bool:
    current = subs.get_by_token(store, sub.token)
    if current is None or current.state != "active":  # unsubscribed meanwhile
        rem.drop_email(store, email.id)
        return False
    msg = compose(settings, current, email.payload["entries"], email.message_id)
    try:
        mailer.send(msg)
    except MailError as exc:
        log.warning("reminders: subscription=%d not sent: %s", sub.id, exc.message)
        rem.drop_email(store, email.id)
        return False
    rem.finish_email(store, email.id, now)
    log.info("reminders: subscription=%d sent %d", sub.id, len(email.payload["entries"]))
    return True


def send_reminders(
    settings: Settings,
    store: Store,
    *,
    now: datetime | None = None,
    mailer: MailSender | None = None,
    retry_pending_after: timedelta = PENDING_RETRY_AFTER,
) -> int:
    """Send the reminders due today; returns how many emails were sent."""
    now = now or utcnow()
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    today = now.date()
    wanting = rem.subscriptions_with_reminders(store)
    if not wanting:
        return 0
    horizon = max(max(s.reminder_days or [0]) for s in wanting)
    records = candidates(store, today, horizon)
    own = mailer is None
    mailer = mailer or Mailer(settings)
    sent = 0
    try:
        for sub in wanting:
            pending = rem.pending_email(store, sub.id)
            if pending is not None:
                if now - pending.created_at < retry_pending_after:
                    continue  # another run may be sending it
                log.warning("reminders: subscription=%d resending email left pending", sub.id)
                sent += _deliver(settings, store, mailer, sub, pending, now)
                continue
            entries, keys = due_entries(
                settings, sub, records, rem.sent_reminders(store, sub.id), today
            )
            if not entries:
                continue
            email = rem.start_email(
                store,
                sub.id,
                entries=entries,
                keys=keys,
                message_id=new_message_id(settings),
                now=now,
            )
            if email is not None:
                sent += _deliver(settings, store, mailer, sub, email, now)
    finally:
        if own and isinstance(mailer, Mailer):
            mailer.close()
    return sent


def run(settings: Settings, store: Store) -> int:
    """Send what is due, if email is configured, under the reminders lease."""
    if not settings.smtp_host:
        return 0
    lease = Lease(store, LEASE_NAME, seconds=LEASE_SECONDS)
    if not lease.acquire():
        return 0
    try:
        return send_reminders(settings, store)
    finally:
        lease.release()
