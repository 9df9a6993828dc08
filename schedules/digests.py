"""Email digests: for each confirmed subscription, what is new, changed or cancelled since the
last digest sent to it. Run by the scheduler at `TRADEPOINT_DIGEST_DAILY_CRON` / `..._WEEKLY_CRON`.

Delivery guarantee (an SMTP hand-off and a database commit cannot be one atomic step):

1. The diff (entries to report + the snapshots that will be true once they are sent) is written
   as a `pending` digest row and committed BEFORE the email goes to SMTP. A unique index allows
   one pending digest per subscription, so two concurrent runs cannot both send it.
2. The email is handed to SMTP with the Message-ID stored in that row.
3. In ONE transaction the row becomes `sent` and the snapshots are written: what was sent is
   recorded together with the confirmation that it was sent.

A run that dies between 1 and 2 leaves a pending row: the next run that finds it older than
`PENDING_RETRY_AFTER` sends exactly that payload, so nothing is skipped. A run that dies between
2 and 3 (a window of one local commit) makes the next run send the same message again, with the
same Message-ID, which mail clients treat as one message: at-least-once, never at-most-once,
because a lost alert ("your fair is cancelled") costs more than a duplicate. A crash before 1 or
after 3 needs nothing: the next run diffs against the snapshots of the last digest sent. An SMTP
refusal at step 2 drops the pending row (nothing was accepted) and the next run recomputes it.
A pending row younger than `PENDING_RETRY_AFTER` is left alone: another run may be sending it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from search_api.domain.i18n import usually_in
from search_api.domain.records import AnyRecord, is_undated_series
from search_api.errors import TradepointError
from search_api.search import create_backend
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.services.feeds import one_per_fair, record_link, saved_search_of
from search_api.services.mail import (
    Mailer,
    MailError,
    build_message,
    describe_search,
    fmt_dates,
    new_message_id,
    render,
    strings,
)
from search_api.services.subscriptions import links, matching_records
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import subscriptions as subs
from search_api.store.base import utcnow
from search_api.store.subscriptions import Snapshot, snapshot_of
from search_api.store.tables import DigestRow, SubscriptionRow

log = logging.getLogger(__name__)

PENDING_RETRY_AFTER = timedelta(minutes=30)
SECTIONS: tuple[str, ...] = ("cancelled", "changed", "new", "gone")
KEEP_PAST_DAYS = 30
"""A record that left the results is still followed this many days after its dates ended."""
# Fields whose change is worth an email; other edits (a reworded summary) update silently.
REPORTED: tuple[str, ...] = ("dates", "status", "venue", "city", "title")


class MailSender(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


# --------------------------------------------------------------------------- diff


def _field(snap: Snapshot, name: str) -> str | None:
    if name == "dates":
        return fmt_dates(snap.start_date, snap.end_date) or None
    if name == "status" and snap.start_date is None and snap.status == "scheduled":
        return None  # a snapshot from when undated series were called "scheduled"
    return getattr(snap, name)


def _entry(
    section: str,
    snap: Snapshot,
    changes: list[dict[str, Any]],
    link: str,
    record: AnyRecord | None = None,
) -> dict:
    return {
        "section": section,
        "record_id": snap.record_id,
        # a fair series without known dates is listed apart, "usually in June", never among
        # the dated fairs (entries of older pending digests lack these: listed as before)
        "series": record is not None and is_undated_series(record),
        "usual_month": getattr(record, "usual_month", None),
        "title": snap.title,
        "start_date": snap.start_date,
        "end_date": snap.end_date,
        "status": snap.status,
        "venue": snap.venue,
        "city": snap.city,
        "link": link,
        "changes": changes,
    }


def stale_snapshots(sent: dict[str, Snapshot], matched: set[str], today: date) -> list[str]:
    """Snapshots no later digest needs: of records outside the results that were reported
    gone, or whose dates ended more than `KEEP_PAST_DAYS` ago. Without this a subscription to
    upcoming fairs would keep, and look up at every run, every fair it ever reported. Should
    such a record come back (rescheduled, listed again), it is reported as new."""
    cutoff = (today - timedelta(days=KEEP_PAST_DAYS)).isoformat()
    return [
        rid
        for rid, snap in sent.items()
        if rid not in matched
        and (snap.gone or (snap.end_date or snap.start_date or "9999") < cutoff)
    ]


def diff(
    records: Sequence[AnyRecord],
    sent: dict[str, Snapshot],
    lookup: Callable[[list[str]], dict[str, AnyRecord]],
    link: Callable[[str], str],
    also_matched: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[dict[str, Any]], list[Snapshot]]:
    """What to report about `records` (what the saved search matches now) given what was `sent`,
    and the snapshots to store once the report is sent. `lookup` reads records by id from the
    store: a fair that left the results may have been withdrawn, or moved out of the window.
    `also_matched`: records that match but are listed as another (the same fair from another
    source): neither reported nor gone."""
    entries: list[dict[str, Any]] = []
    after: list[Snapshot] = []

    def compare(old: Snapshot, record: AnyRecord) -> None:
        cur = snapshot_of(record)
        if (cur.version, cur.content_hash) == (old.version, old.content_hash):
            return
        after.append(cur)
        changes = [
            {"field": f, "old": _field(old, f), "new": _field(cur, f)}
            for f in REPORTED
            if _field(old, f) != _field(cur, f)
            # a fair gaining or losing its dates gains or loses "scheduled": the dates say it
            and not (f == "status" and {_field(old, f), _field(cur, f)} <= {"scheduled", None})
        ]
        if changes:
            cancelled = cur.status == "cancelled" and old.status != "cancelled"
            section = "cancelled" if cancelled else "changed"
            entries.append(_entry(section, cur, changes, link(cur.record_id), record))

    matched = set()
    for record in records:
        matched.add(record.id)
        cur = snapshot_of(record)
        old = sent.get(record.id)
        if old is None or old.gone:
            after.append(cur)
            section = "cancelled" if cur.status == "cancelled" else "new"
            entries.append(_entry(section, cur, [], link(cur.record_id), record))
        else:
            compare(old, record)
    left = [
        rid
        for rid, snap in sent.items()
        if rid not in matched and rid not in also_matched and not snap.gone
    ]
    current = lookup(left) if left else {}
    for rid in left:
        old, still = sent[rid], current.get(rid)
        if still is None or still.withdrawn:
            after.append(replace(old, gone=True))
            entries.append(_entry("gone", old, [], link(rid)))
        else:
            compare(old, still)
    order = {s: i for i, s in enumerate(SECTIONS)}
    entries.sort(key=lambda e: (order[e["section"]], e["start_date"] or "9999", e["title"]))
    return entries, after


# --------------------------------------------------------------------------- composing


def _shown(entry: dict[str, Any], lang: str) -> dict[str, Any]:
    """An entry as the email lists it: `when` is its dates, or when a series is usually held."""
    month = entry.get("usual_month")
    when = fmt_dates(entry["start_date"], entry["end_date"])
    if not when and month:
        when = usually_in(lang, month)
    return {**entry, "series": bool(entry.get("series")), "when": when}


def compose(
    settings: Settings, sub: SubscriptionRow, entries: list[dict[str, Any]], message_id: str
) -> EmailMessage:
    t = strings(settings, sub.language)
    n = len(entries)
    subject = t("digest_subject_one") if n == 1 else t("digest_subject_many", count=n)
    sections = []
    for key in SECTIONS:
        these = [_shown(e, sub.language) for e in entries if e["section"] == key]
        if these:
            sections.append(
                {
                    "key": key,
                    "count": len(these),
                    "entries": [e for e in these if not e["series"]],
                    "series": [e for e in these if e["series"]],
                }
            )
    urls = links(settings, sub)
    text, html = render(
        settings,
        "digest",
        sub.language,
        subject=subject,
        email=sub.email,
        description=describe_search(settings, saved_search_of(sub), sub.language),
        sections=sections,
        feed_url=urls.get("ics", urls["manage"]),
        manage_url=urls["manage"],
        unsubscribe_url=urls["unsubscribe"],
    )
    return build_message(
        settings,
        to=sub.email,
        subject=subject,
        text=text,
        html=html,
        unsubscribe_url=urls["unsubscribe"],
        lang=sub.language,
        message_id=message_id,
    )


# --------------------------------------------------------------------------- sending


class _Run:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        backend: SearchBackend,
        mailer: MailSender,
        now: datetime,
        retry_after: timedelta,
    ) -> None:
        self.settings, self.store, self.backend, self.mailer = settings, store, backend, mailer
        self.now, self.retry_after = now, retry_after
        self.failures = 0

    def one(self, sub: SubscriptionRow) -> int:
        pending = subs.pending_digest(self.store, sub.id)
        if pending is not None:
            if self.now - pending.created_at < self.retry_after:
                log.info("digest: subscription=%d has a digest in flight; skipped", sub.id)
                return 0
            log.warning(
                "digest: subscription=%d retrying digest=%d left pending", sub.id, pending.id
            )
            return self.deliver(sub, pending)
        found = matching_records(self.store, self.backend, saved_search_of(sub), self.now.date())
        # The same fair from several sources is one entry, as on every page and feed; the
        # records it stands for still match (not "gone", not looked up again).
        records, also = one_per_fair(found)
        matched = {r.id for r in found}
        sent = subs.load_snapshots(self.store, sub.id)
        stale = stale_snapshots(sent, matched, self.now.date())
        if stale:
            subs.delete_snapshots(self.store, sub.id, stale)
            for record_id in stale:
                del sent[record_id]
        entries, after = diff(
            records,
            sent,
            self.store.get_records,
            lambda rid: record_link(self.settings, rid),
            also_matched={rid for ids in also.values() for rid in ids},
        )
        if not entries:
            return 0
        digest = subs.start_digest(
            self.store,
            sub.id,
            entries=entries,
            snapshots=after,
            message_id=new_message_id(self.settings),
            now=self.now,
        )
        if digest is None:  # another run wrote its pending row first
            return 0
        return self.deliver(sub, digest)

    def deliver(self, sub: SubscriptionRow, digest: DigestRow) -> int:
        current = subs.get_by_token(self.store, sub.token)
        if current is None or current.state != "active":  # unsubscribed meanwhile
            subs.drop_digest(self.store, digest.id)
            return 0
        msg = compose(self.settings, current, digest.payload["entries"], digest.message_id)
        try:
            self.mailer.send(msg)
        except MailError as exc:
            self.failures += 1
            log.warning("digest: subscription=%d not sent: %s", sub.id, exc.message)
            subs.drop_digest(self.store, digest.id)
            return 0
        subs.finish_digest(self.store, digest.id, self.now)
        log.info("digest: subscription=%d sent %d entries", sub.id, len(digest.payload["entries"]))
        return 1


def send_digests(
    settings: Settings,
    frequency: str,
    now: datetime | None = None,
    *,
    store: Store | None = None,
    backend: SearchBackend | None = None,
    mailer: MailSender | None = None,
    retry_pending_after: timedelta = PENDING_RETRY_AFTER,
) -> int:
    """Send the `frequency` ("daily" | "weekly") digests that have something to say; returns
    how many emails were sent. `store`, `backend` and `mailer` default to ones made from
    `settings` (tests pass their own, e.g. a mailer that fails on purpose)."""
    if frequency not in subs.FREQUENCIES:
        raise ValueError(f"frequency: must be one of {', '.join(subs.FREQUENCIES)}")
    now = now or utcnow()
    if now.tzinfo is not None:  # the store keeps naive UTC
        now = now.astimezone(UTC).replace(tzinfo=None)
    own_store, own_backend = store is None, backend is None
    store = store or Store(settings.sqlalchemy_url)
    try:
        candidates = subs.active_subscriptions(store, frequency)
        if not candidates:
            return 0
        backend = backend or create_backend(settings)
        try:
            # Search what the store holds now, not what the index held at the last drain.
            drain_outbox(store, backend)
        except TradepointError as exc:
            log.warning("digest: index not updated before searching: %s", exc.message)
        own_mailer = Mailer(settings) if mailer is None else None
        run = _Run(settings, store, backend, mailer or own_mailer, now, retry_pending_after)  # type: ignore[arg-type]
        try:
            sent = sum(run.one(sub) for sub in candidates)
        finally:
            if own_mailer is not None:
                own_mailer.close()
        log.info("digest: frequency=%s sent=%d failed=%d", frequency, sent, run.failures)
        if run.failures and not sent:
            raise MailError(f"no {frequency} digest could be sent ({run.failures} failed)")
        return sent
    finally:
        if own_backend and backend is not None:
            backend.close()
        if own_store:
            store.close()
