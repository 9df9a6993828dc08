"""Agency web sessions kept on the server, so that signing out ends them.

Revision ID: 0009_agency_sessions
Revises: 0008_page_watch
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_agency_sessions"
down_revision: str | None = "0008_page_watch"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "agency_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("agency_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agency_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agency_sessions_key_id"), ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agency_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agency_sessions_key_id"))
        batch_op.drop_index(batch_op.f("ix_agency_sessions_expires_at"))
    op.drop_table("agency_sessions")
