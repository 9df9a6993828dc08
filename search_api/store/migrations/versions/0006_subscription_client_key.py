"""Subscriptions keep a hash of the client that made them, for the per-client rate limit.

Revision ID: 0006_subscription_client_key
Revises: 0005_change_feed
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_subscription_client_key"
down_revision: str | None = "0005_change_feed"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_subscriptions_client_key"), ["client_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_client_key"))
        batch_op.drop_column("client_key")
