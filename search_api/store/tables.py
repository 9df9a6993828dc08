"""Every table of the system of record. The search index is derived from `records`, never the
reverse. Migrations (store/migrations) compare the database with this module's metadata."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Declarative tables are Tables (SQLAlchemy types them as any FromClause): Core
    # statements on them (the batch upsert) then type-check.
    __table__: ClassVar[Table]


class RecordRow(Base):
    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    source_id: Mapped[str] = mapped_column(String(80), index=True)
    # The whole validated record as JSON: the one source of truth for every field.
    data: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    last_changed: Mapped[datetime] = mapped_column(DateTime)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Successful runs of its source in a row that did not yield this record.
    missing_runs: Mapped[int] = mapped_column(Integer, default=0)


class SourceRow(Base):
    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    spec: Mapped[dict] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    # Set when removed while records or runs of it remain: the id stays its owner's.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_source_started", "source_id", "started_at"),
        # At most one running run per source, enforced by the database itself so that the
        # scheduler, the API and the CLI cannot start two at once, even from different hosts.
        Index(
            "uq_runs_one_running",
            "source_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # running | succeeded | failed | interrupted
    status: Mapped[str] = mapped_column(String(16), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_changed: Mapped[int] = mapped_column(Integer, default=0)
    items_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    items_failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    # Values repaired or inferred during the run, each with its rule and page (NULL on runs
    # recorded before notes existed).
    notes: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)


class RecordProblemRow(Base):
    """A stored record that no longer validates (written by an older version, or by hand): it
    is left out of the index and of lists, and shown to operators and its agency until it is
    replaced or deleted, instead of failing every read that meets it."""

    __tablename__ = "record_problems"

    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), index=True)
    problem: Mapped[str] = mapped_column(Text)
    noted_at: Mapped[datetime] = mapped_column(DateTime)


class OutboxRow(Base):
    """One row per record change, written in the same transaction as the change."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(8))  # upsert | delete
    created_at: Mapped[datetime] = mapped_column(DateTime)


# A 64-bit id on PostgreSQL (a change log outlives 2^31 changes); SQLite's INTEGER PRIMARY KEY
# is 64-bit already and must be spelled INTEGER to be the rowid.
BIGINT_ID = BigInteger().with_variant(Integer, "sqlite")


class ChangeRow(Base):
    """The change feed: one row per record change, written in the same transaction as the
    change and never deleted by the indexer (unlike `outbox`). See `store/changes.py` for why
    the id order is the commit order."""

    __tablename__ = "record_changes"
    # AUTOINCREMENT: SQLite never reuses an id, even the highest one's after a delete, so a
    # cursor can never point at a different change later.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    op: Mapped[str] = mapped_column(String(12))  # created | changed | withdrawn
    # Names of the record fields this change changed (created: none; withdrawn: ["withdrawn"]).
    fields: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    # Only for a record deleted outright (a curated record): its last state, since the records
    # table no longer has it. Webhooks match their searches against it.
    tombstone: Mapped[str | None] = mapped_column(Text, nullable=True)


# --------------------------------------------------------------------------- API keys


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The agency (or admin) the key acts for; sources and curated records are owned by it.
    name: Mapped[str] = mapped_column(String(80), index=True)
    # How people know the agency ("Kenya Export Promotion Council"); `name` is its id.
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # first characters, to tell keys apart
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AgencySessionRow(Base):
    """A signed-in agency web session. The cookie carries a random token, this table only its
    SHA-256: signing out deletes the row, so a copy of the cookie stops working at once."""

    __tablename__ = "agency_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


# --------------------------------------------------------------------------- subscriptions


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(100), unique=True)
    feed_token: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    # A hash of the client that subscribed (services/subscriptions: rate limits), never its IP.
    client_key: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    search: Mapped[dict] = mapped_column(JSON)  # a SavedSearch, as_json()
    language: Mapped[str] = mapped_column(String(8), default="en")
    frequency: Mapped[str] = mapped_column(String(8), default="weekly")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Days before a date that matters (a comment deadline, a fair's start) to send a reminder;
    # None or [] for no reminders.
    reminder_days: Mapped[list | None] = mapped_column(JSON, nullable=True)

    @property
    def state(self) -> str:
        if self.unsubscribed_at is not None:
            return "unsubscribed"
        return "active" if self.confirmed_at is not None else "pending_confirmation"


class SentItemRow(Base):
    __tablename__ = "subscription_items"

    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(500))
    start_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    end_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    venue: Mapped[str | None] = mapped_column(String(500), nullable=True)
    city: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The record was reported withdrawn (or deleted) at its source; not reported again.
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime)


class DigestRow(Base):
    __tablename__ = "subscription_digests"
    __table_args__ = (
        # One digest in flight per subscription, enforced by the database, so two digest runs
        # (a scheduler and a manual run) can never both send the same changes.
        Index(
            "uq_digest_one_pending",
            "subscription_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent
    message_id: Mapped[str] = mapped_column(String(255))
    # {"entries": [...what the email reports...], "snapshots": [...state after sending...]}
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ReminderRow(Base):
    """A reminder sent: once per subscription, record, date field, date and offset. A date
    that moves gets new rows (and the reminder says from which date it moved)."""

    __tablename__ = "subscription_reminders"

    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # comment_deadline | effective_date | start_date | registration_deadline
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    date: Mapped[str] = mapped_column(String(10), primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime)


class ReminderEmailRow(Base):
    """One reminder email, `pending` before it goes to SMTP and `sent` after, exactly as
    `subscription_digests` (see `schedules/reminders.py`)."""

    __tablename__ = "subscription_reminder_emails"
    __table_args__ = (
        Index(
            "uq_reminder_one_pending",
            "subscription_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent
    message_id: Mapped[str] = mapped_column(String(255))
    # {"entries": [...what the email says...], "keys": [...reminder rows written once sent...]}
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# --------------------------------------------------------------------------- webhooks


class WebhookRow(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    search: Mapped[dict] = mapped_column(JSON)  # /search parameters, normalised
    events: Mapped[list] = mapped_column(JSON)
    # The signing secret, encrypted (Fernet) with the server's webhook key; never shown again.
    secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The last change of the change feed turned into deliveries (or skipped as not matching).
    cursor: Mapped[int] = mapped_column(BIGINT_ID, default=0)
    # Since when every attempt failed (None after a success): the webhook is disabled when
    # this is older than TRADEPOINT_WEBHOOK_DISABLE_AFTER_DAYS.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class WebhookDeliveryRow(Base):
    """One event for one webhook: its body is fixed when it is made, so every attempt sends
    the same bytes under the same `webhook-id`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # One delivery per change per webhook: a change is never sent under two ids.
        UniqueConstraint("webhook_id", "change_id", name="uq_webhook_delivery_change"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    change_id: Mapped[int] = mapped_column(BIGINT_ID)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # pending (to send or retry) | delivered | failed (given up)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# --------------------------------------------------------------------------- leases


class LeaseRow(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


# --------------------------------------------------------------------------- page watch


class PageWatchRow(Base):
    """The official page of a curated record, as last read by the change watch: its main text's
    fingerprint, and whether it changed materially since the text the record was checked
    against (the first reading after the record's `as_of`)."""

    __tablename__ = "page_watch"

    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # the record's as_of when the baseline was read: a newer as_of (a curator re-checked the
    # facts) takes the page as it is then as the new baseline
    baseline_as_of: Mapped[str | None] = mapped_column(String(10), nullable=True)
    baseline_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # up to MAX_TEXT characters: loaded only where pages are compared (the watch), not with
    # every row that lists or shows a watched page
    baseline_text: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)
    baseline_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # set when the page first differed materially from the baseline; cleared by a new baseline
    changed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
