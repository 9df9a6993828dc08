"""Advisors' subscriptions: a saved search, an email address and what was last sent to it.

Three tables:

- `subscriptions`: the saved search, frequency, language and two random tokens. `token` is the
  owner's key (confirm, view, unsubscribe, delete); `feed_token` only reads the calendar and
  Atom feeds, so a calendar URL pasted into a shared calendar cannot cancel the subscription.
- `subscription_items`: per subscription and record, a snapshot of the fields a digest reports
  as they were last sent (or when the subscription was confirmed), so the next digest holds
  only what is new, changed or cancelled since.
- `subscription_digests`: one row per digest. A row is written `pending` before the email is
  handed to SMTP and turned `sent` (with the new snapshots) afterwards; see `schedules.digests`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.errors import MessageError
from email.headerregistry import Address
from typing import Any, Literal

from sqlalchemy import (
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError

from search_api.domain.languages import UiLanguage
from search_api.domain.records import AnyRecord
from search_api.errors import TooManyRequests
from search_api.store.base import StoreBase, chunks, utcnow
from search_api.store.tables import (
    DigestRow,
    ReminderEmailRow,
    ReminderRow,
    SentItemRow,
    SubscriptionRow,
)

FREQUENCIES: tuple[str, ...] = ("daily", "weekly")
CONFIRM_WITHIN = timedelta(days=7)
# At most this many unconfirmed subscriptions per address a day: the subscribe form must not
# become a way to flood someone's inbox with confirmation emails.
MAX_PENDING_PER_EMAIL = 5
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


# --------------------------------------------------------------------------- tables


def normalise_email(value: str) -> str:
    """A plain addr-spec (no display name), lowercased domain; ValueError says what is wrong."""
    raw = (value or "").strip()
    if not raw:
        raise ValueError("an email address is required")
    if len(raw) > 254:
        raise ValueError("too long (at most 254 characters)")
    if any(ord(c) < 33 or c in '<>()[],;:\\"' for c in raw):
        # Also rules out CR/LF: an address is put in a mail header.
        raise ValueError("must be a plain address such as name@example.org")
    if raw.count("@") != 1:
        raise ValueError("must be a plain address such as name@example.org")
    try:
        addr = Address(addr_spec=raw)
    except (ValueError, IndexError, TypeError, MessageError) as exc:
        # HeaderParseError ("@example.org", "a@b@c") is a MessageError, not a ValueError.
        raise ValueError("must be a plain address such as name@example.org") from exc
    local, domain = addr.username, addr.domain
    if (
        not local
        or len(local) > 64
        or "." not in domain
        or domain.startswith(".")
        or ".." in domain
    ):
        raise ValueError("must be a plain address such as name@example.org")
    return f"{local}@{domain.lower()}"


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Snapshot:
    """The fields of a record a digest reports, as last sent."""

    record_id: str
    version: int
    content_hash: str | None
    title: str
    start_date: str | None
    end_date: str | None
    status: str | None
    venue: str | None
    city: str | None
    gone: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def snapshot_of(record: AnyRecord, *, gone: bool = False) -> Snapshot:
    def _s(name: str) -> str | None:
        value = getattr(record, name, None)
        return None if value is None else str(value)

    return Snapshot(
        record_id=record.id,
        version=record.version,
        content_hash=record.content_hash,
        title=record.title,
        start_date=_s("start_date"),
        end_date=_s("end_date"),
        status=_s("status"),
        venue=_s("venue"),
        city=_s("city"),
        gone=gone or record.withdrawn,
    )


def _snapshot_from_row(row: SentItemRow) -> Snapshot:
    return Snapshot(**{k: getattr(row, k) for k in Snapshot.__dataclass_fields__})


# --------------------------------------------------------------------------- subscriptions


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SubscribeLimits:
    """How many subscriptions (each sends a confirmation email) may be made per hour from one
    client and from everyone; per address, `MAX_PENDING_PER_EMAIL` unconfirmed a day."""

    per_client_hour: int
    per_hour: int


def client_key(client: str) -> str:
    """What is kept of a client's address: enough to count its requests, not to find it."""
    return hashlib.sha256(f"tradepoint-subscribe:{client}".encode()).hexdigest()[:32]


def create_subscription(
    store: StoreBase,
    *,
    email: str,
    search: dict[str, Any],
    frequency: str,
    language: str,
    reminder_days: list[int] | None = None,
    client: str | None = None,
    limits: SubscribeLimits | None = None,
    now: datetime | None = None,
) -> SubscriptionRow:
    now = now or utcnow()
    key = client_key(client) if client else None
    with store.session() as s, s.begin():
        _check_limits(s, email, key, limits, now)
        row = SubscriptionRow(
            token=new_token(),
            feed_token=new_token(),
            email=email,
            search=search,
            language=language,
            frequency=frequency,
            reminder_days=reminder_days or None,
            client_key=key,
            created_at=now,
        )
        s.add(row)
    return row


def _check_limits(
    s: Any, email: str, key: str | None, limits: SubscribeLimits | None, now: datetime
) -> None:
    def count(*where: Any) -> int:
        found = s.scalar(select(func.count()).select_from(SubscriptionRow).where(*where))
        return int(found or 0)

    hour = now - timedelta(hours=1)
    # Addresses differ only in case as far as people and mail servers are concerned.
    same_address = func.lower(SubscriptionRow.email) == email.lower()
    if (
        count(
            same_address,
            SubscriptionRow.confirmed_at.is_(None),
            SubscriptionRow.created_at > now - timedelta(days=1),
        )
        >= MAX_PENDING_PER_EMAIL
    ):
        raise TooManyRequests(
            "email: too many unconfirmed subscriptions for this address today; "
            "confirm one of them or try again tomorrow",
            headers={"Retry-After": "86400"},
        )
    if limits is None:
        return
    if (
        key is not None
        and count(SubscriptionRow.client_key == key, SubscriptionRow.created_at > hour)
        >= limits.per_client_hour
    ):
        raise TooManyRequests(
            "too many subscriptions from this client in the last hour; try again later",
            headers={"Retry-After": "3600"},
        )
    if count(SubscriptionRow.created_at > hour) >= limits.per_hour:
        raise TooManyRequests(
            "too many subscriptions in the last hour; try again later",
            headers={"Retry-After": "600"},
        )


def _by(store: StoreBase, column: Any, token: str) -> SubscriptionRow | None:
    if not token or not _TOKEN_RE.match(token):
        return None
    with store.session() as s:
        return s.scalar(select(SubscriptionRow).where(column == token))


def get_by_token(store: StoreBase, token: str) -> SubscriptionRow | None:
    return _by(store, SubscriptionRow.token, token)


def get_by_feed_token(store: StoreBase, feed_token: str) -> SubscriptionRow | None:
    return _by(store, SubscriptionRow.feed_token, feed_token)


def list_for_email(store: StoreBase, email: str) -> list[SubscriptionRow]:
    with store.session() as s:
        return list(
            s.scalars(
                select(SubscriptionRow)
                .where(func.lower(SubscriptionRow.email) == email.lower())
                .order_by(SubscriptionRow.id)
            ).all()
        )


def active_subscriptions(store: StoreBase, frequency: str) -> list[SubscriptionRow]:
    with store.session() as s:
        return list(
            s.scalars(
                select(SubscriptionRow)
                .where(
                    SubscriptionRow.frequency == frequency,
                    SubscriptionRow.confirmed_at.is_not(None),
                    SubscriptionRow.unsubscribed_at.is_(None),
                )
                .order_by(SubscriptionRow.id)
            ).all()
        )


def confirm(
    store: StoreBase, subscription_id: int, baseline: list[Snapshot], now: datetime | None = None
) -> bool:
    """Confirm and record what the subscriber already knows (the current results, shown on the
    confirmation page and in the feed), so the first digest reports changes, not the catalogue.
    Returns False when it was already confirmed (a second click changes nothing)."""
    now = now or utcnow()
    with store.session() as s, s.begin():
        row = s.get(SubscriptionRow, subscription_id)
        if row is None or row.confirmed_at is not None or row.unsubscribed_at is not None:
            return False
        row.confirmed_at = now
        _put_snapshots(s, subscription_id, baseline, now)
    return True


def unsubscribe(store: StoreBase, subscription_id: int, now: datetime | None = None) -> bool:
    with store.session() as s, s.begin():
        row = s.get(SubscriptionRow, subscription_id)
        if row is None or row.unsubscribed_at is not None:
            return False
        row.unsubscribed_at = now or utcnow()
    return True


def delete_subscription(store: StoreBase, subscription_id: int) -> None:
    """Erase the subscription, its address and its history (not just unsubscribe)."""
    with store.session() as s, s.begin():
        # Explicit deletes: foreign-key cascades are off on some SQLite connections.
        s.execute(delete(ReminderRow).where(ReminderRow.subscription_id == subscription_id))
        s.execute(
            delete(ReminderEmailRow).where(ReminderEmailRow.subscription_id == subscription_id)
        )
        s.execute(delete(DigestRow).where(DigestRow.subscription_id == subscription_id))
        s.execute(delete(SentItemRow).where(SentItemRow.subscription_id == subscription_id))
        s.execute(delete(SubscriptionRow).where(SubscriptionRow.id == subscription_id))


def load_snapshots(store: StoreBase, subscription_id: int) -> dict[str, Snapshot]:
    with store.session() as s:
        rows = s.scalars(
            select(SentItemRow).where(SentItemRow.subscription_id == subscription_id)
        ).all()
        return {r.record_id: _snapshot_from_row(r) for r in rows}


def delete_snapshots(store: StoreBase, subscription_id: int, record_ids: list[str]) -> None:
    with store.session() as s, s.begin():
        for chunk in chunks(record_ids, 500):
            s.execute(
                delete(SentItemRow).where(
                    SentItemRow.subscription_id == subscription_id,
                    SentItemRow.record_id.in_(chunk),
                )
            )


def _put_snapshots(s: Any, subscription_id: int, snaps: list[Snapshot], now: datetime) -> None:
    for snap in snaps:
        row = s.get(SentItemRow, (subscription_id, snap.record_id))
        if row is None:
            row = SentItemRow(subscription_id=subscription_id, record_id=snap.record_id)
            s.add(row)
        for name in Snapshot.__dataclass_fields__:
            if name != "record_id":
                setattr(row, name, getattr(snap, name))
        row.sent_at = now


# --------------------------------------------------------------------------- digests


def pending_digest(store: StoreBase, subscription_id: int) -> DigestRow | None:
    with store.session() as s:
        return s.scalar(
            select(DigestRow).where(
                DigestRow.subscription_id == subscription_id, DigestRow.status == "pending"
            )
        )


def start_digest(
    store: StoreBase,
    subscription_id: int,
    *,
    entries: list[dict[str, Any]],
    snapshots: list[Snapshot],
    message_id: str,
    now: datetime,
) -> DigestRow | None:
    """Write the pending row (committed before anything is sent); None if one is in flight."""
    try:
        with store.session() as s, s.begin():
            row = DigestRow(
                subscription_id=subscription_id,
                status="pending",
                message_id=message_id,
                payload={"entries": entries, "snapshots": [x.to_json() for x in snapshots]},
                created_at=now,
            )
            s.add(row)
        return row
    except IntegrityError:
        return None


def finish_digest(store: StoreBase, digest_id: int, now: datetime) -> None:
    """The email was accepted: mark it sent and store the snapshots, in one transaction."""
    with store.session() as s, s.begin():
        row = s.get(DigestRow, digest_id)
        if row is None or row.status != "pending":
            return
        snaps = [Snapshot.from_json(x) for x in row.payload.get("snapshots", [])]
        _put_snapshots(s, row.subscription_id, snaps, now)
        row.status, row.sent_at = "sent", now
        sub = s.get(SubscriptionRow, row.subscription_id)
        if sub is not None:
            sub.last_digest_at = now


def drop_digest(store: StoreBase, digest_id: int) -> None:
    """Forget a pending digest that was not sent; the next run computes it again."""
    with store.session() as s, s.begin():
        s.execute(delete(DigestRow).where(DigestRow.id == digest_id, DigestRow.status == "pending"))


def digests_of(
    store: StoreBase, subscription_id: int, status: str | None = None
) -> list[DigestRow]:
    with store.session() as s:
        q = select(DigestRow).where(DigestRow.subscription_id == subscription_id)
        if status:
            q = q.where(DigestRow.status == status)
        return list(s.scalars(q.order_by(DigestRow.id)).all())


Frequency = Literal["daily", "weekly"]
Language = UiLanguage
