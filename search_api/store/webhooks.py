"""Partners' webhooks and their deliveries (the rules are in services/webhooks.py).

- `webhooks`: the URL, the saved search, the events, the encrypted signing secret and a cursor
  into the change feed (`record_changes`): the last change already turned into deliveries.
- `webhook_deliveries`: one row per event to send, with its fixed body, status and attempts.

Turning changes into deliveries writes the deliveries and moves the cursor in ONE
transaction, and only if the cursor is still where it was read (a compare-and-set): a change
becomes a delivery exactly once, even with several processes at it. The (webhook, change)
pair is unique besides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from search_api.store.base import StoreBase
from search_api.store.tables import WebhookDeliveryRow, WebhookRow

_DELIVERIES = WebhookDeliveryRow.__table__


def create_webhook(store: StoreBase, **values: Any) -> WebhookRow:
    with store.session() as s, s.begin():
        row = WebhookRow(**values)
        s.add(row)
    return row


def get_webhook(store: StoreBase, webhook_id: int) -> WebhookRow | None:
    with store.session() as s:
        return s.get(WebhookRow, webhook_id)


def list_webhooks(store: StoreBase, owner: str | None = None) -> list[WebhookRow]:
    with store.session() as s:
        q = select(WebhookRow).order_by(WebhookRow.id)
        if owner is not None:
            q = q.where(WebhookRow.owner == owner)
        return list(s.scalars(q).all())


def count_webhooks(store: StoreBase, owner: str) -> int:
    with store.session() as s:
        q = select(func.count()).select_from(WebhookRow).where(WebhookRow.owner == owner)
        return s.scalar(q) or 0


def update_webhook(store: StoreBase, webhook_id: int, **values: Any) -> WebhookRow | None:
    with store.session() as s, s.begin():
        row = s.get(WebhookRow, webhook_id)
        if row is None:
            return None
        for name, value in values.items():
            setattr(row, name, value)
    return row


def delete_webhook(store: StoreBase, webhook_id: int) -> None:
    with store.session() as s, s.begin():
        # Explicit: foreign-key cascades are off on some SQLite connections.
        s.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id))
        s.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id))


def add_deliveries(
    store: StoreBase,
    webhook_id: int,
    cursor_was: int,
    cursor_now: int,
    deliveries: Sequence[dict[str, Any]],
) -> bool:
    """Write `deliveries` and move the webhook's cursor from `cursor_was` to `cursor_now`, in
    one transaction; False (nothing written) when the cursor had moved meanwhile."""
    with store.engine.begin() as conn:
        moved = conn.execute(
            update(WebhookRow.__table__)
            .where(WebhookRow.id == webhook_id, WebhookRow.cursor == cursor_was)
            .values(cursor=cursor_now)
        )
        if moved.rowcount != 1:
            return False
        if deliveries:
            conn.execute(insert(_DELIVERIES), list(deliveries))
    return True


def due_deliveries(store: StoreBase, now: datetime, limit: int) -> list[WebhookDeliveryRow]:
    """Pending deliveries of enabled webhooks whose next attempt is due, oldest first."""
    with store.session() as s:
        q = (
            select(WebhookDeliveryRow)
            .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
            .where(
                WebhookRow.enabled.is_(True),
                WebhookDeliveryRow.status == "pending",
                WebhookDeliveryRow.next_attempt_at <= now,
            )
            .order_by(WebhookDeliveryRow.id)
            .limit(limit)
        )
        return list(s.scalars(q).all())


def record_attempt(
    store: StoreBase,
    delivery_id: int,
    *,
    status: str,
    at: datetime,
    http_status: int | None,
    error: str | None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Count one attempt of a delivery and what came of it."""
    values: dict[str, Any] = {
        "status": status,
        "attempts": WebhookDeliveryRow.attempts + 1,
        "last_attempt_at": at,
        "last_status": http_status,
        "last_error": error[:1000] if error else None,
    }
    if status == "delivered":
        values["delivered_at"] = at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    with store.session() as s, s.begin():
        s.execute(
            update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id).values(**values)
        )


def deliveries_of(
    store: StoreBase, webhook_id: int, *, status: str | None = None, limit: int = 100
) -> list[WebhookDeliveryRow]:
    """A webhook's delivery log, newest first."""
    with store.session() as s:
        q = select(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id)
        if status:
            q = q.where(WebhookDeliveryRow.status == status)
        return list(s.scalars(q.order_by(WebhookDeliveryRow.id.desc()).limit(limit)).all())


def delivery_counts(store: StoreBase, webhook_id: int) -> dict[str, int]:
    with store.session() as s:
        rows = s.execute(
            select(WebhookDeliveryRow.status, func.count())
            .where(WebhookDeliveryRow.webhook_id == webhook_id)
            .group_by(WebhookDeliveryRow.status)
        ).all()
    counts = {"pending": 0, "delivered": 0, "failed": 0}
    counts.update({status: n for status, n in rows})
    return counts


def retry_failed(store: StoreBase, webhook_id: int, now: datetime) -> int:
    """Deliveries given up on are tried again (an owner fixed their endpoint)."""
    with store.session() as s, s.begin():
        res = s.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.webhook_id == webhook_id,
                WebhookDeliveryRow.status == "failed",
            )
            .values(status="pending", next_attempt_at=now, created_at=now)
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]
