"""Reminders of subscriptions: which were sent, the reminder emails in flight, and the records
whose dates that matter fall in a window (see services/reminders.py for the rules).

A reminder email follows the digests' delivery scheme (store/subscriptions.py): a `pending`
row committed before the email goes to SMTP; then, in ONE transaction, the row turns `sent`
and the reminders it carried are recorded, so each is sent at least once and, but for a crash
in that one window, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from search_api.store.base import StoreBase
from search_api.store.tables import (
    RecordRow,
    ReminderEmailRow,
    ReminderRow,
    SubscriptionRow,
)

_RECORDS = RecordRow.__table__
ReminderKey = tuple[str, str, str, int]
"""(record id, date field, ISO date, days before)."""


def subscriptions_with_reminders(store: StoreBase) -> list[SubscriptionRow]:
    with store.session() as s:
        rows = s.scalars(
            select(SubscriptionRow)
            .where(
                SubscriptionRow.confirmed_at.is_not(None),
                SubscriptionRow.unsubscribed_at.is_(None),
                SubscriptionRow.reminder_days.is_not(None),
            )
            .order_by(SubscriptionRow.id)
        ).all()
    return [r for r in rows if r.reminder_days]


def _json_field(store: StoreBase, name: str) -> Any:
    data = _RECORDS.c.data
    if store.engine.dialect.name == "postgresql":
        return cast(data, JSONB)[name].astext
    return cast(func.json_extract(data, f"$.{name}"), String)


def records_dated_between(
    store: StoreBase, fields: Mapping[str, Sequence[str]], start: str, end: str
) -> list[str]:
    """The stored JSON of records (not withdrawn) of each kind in `fields` with one of its
    date fields between `start` and `end` (ISO dates, inclusive), read by the database."""
    clauses = [
        and_(
            _RECORDS.c.kind == kind,
            or_(*(_json_field(store, f).between(start, end) for f in names)),
        )
        for kind, names in fields.items()
        if names
    ]
    if not clauses:
        return []
    with store.engine.connect() as conn:
        return list(
            conn.scalars(
                select(_RECORDS.c.data)
                .where(_RECORDS.c.withdrawn.is_(False), or_(*clauses))
                .order_by(_RECORDS.c.id)
            )
        )


def sent_reminders(store: StoreBase, subscription_id: int) -> list[ReminderKey]:
    with store.session() as s:
        rows = s.execute(
            select(
                ReminderRow.record_id, ReminderRow.field, ReminderRow.date, ReminderRow.days_before
            ).where(ReminderRow.subscription_id == subscription_id)
        ).all()
    return [(r, f, d, n) for r, f, d, n in rows]


def pending_email(store: StoreBase, subscription_id: int) -> ReminderEmailRow | None:
    with store.session() as s:
        return s.scalar(
            select(ReminderEmailRow).where(
                ReminderEmailRow.subscription_id == subscription_id,
                ReminderEmailRow.status == "pending",
            )
        )


def start_email(
    store: StoreBase,
    subscription_id: int,
    *,
    entries: list[dict[str, Any]],
    keys: list[ReminderKey],
    message_id: str,
    now: datetime,
) -> ReminderEmailRow | None:
    """The pending row, committed before anything is sent; None if one is in flight."""
    try:
        with store.session() as s, s.begin():
            row = ReminderEmailRow(
                subscription_id=subscription_id,
                status="pending",
                message_id=message_id,
                payload={"entries": entries, "keys": [list(k) for k in keys]},
                created_at=now,
            )
            s.add(row)
        return row
    except IntegrityError:
        return None


def finish_email(store: StoreBase, email_id: int, now: datetime) -> None:
    """The email was accepted: mark it sent and record its reminders, in one transaction."""
    with store.session() as s, s.begin():
        row = s.get(ReminderEmailRow, email_id)
        if row is None or row.status != "pending":
            return
        for record_id, field, day, days_before in row.payload.get("keys", []):
            key = (row.subscription_id, record_id, field, day, int(days_before))
            if s.get(ReminderRow, key) is None:
                s.add(
                    ReminderRow(
                        subscription_id=row.subscription_id,
                        record_id=record_id,
                        field=field,
                        date=day,
                        days_before=int(days_before),
                        sent_at=now,
                    )
                )
        row.status, row.sent_at = "sent", now


def drop_email(store: StoreBase, email_id: int) -> None:
    with store.session() as s, s.begin():
        s.execute(
            delete(ReminderEmailRow).where(
                ReminderEmailRow.id == email_id, ReminderEmailRow.status == "pending"
            )
        )


def emails_of(store: StoreBase, subscription_id: int) -> list[ReminderEmailRow]:
    with store.session() as s:
        return list(
            s.scalars(
                select(ReminderEmailRow)
                .where(ReminderEmailRow.subscription_id == subscription_id)
                .order_by(ReminderEmailRow.id)
            ).all()
        )
