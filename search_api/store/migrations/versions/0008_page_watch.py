"""page_watch: the change watch of curated records' official pages.

Revision ID: 0008_page_watch
Revises: 0007_run_notes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_page_watch"
down_revision: str | None = "0007_run_notes"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "page_watch",
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("baseline_as_of", sa.String(length=10), nullable=True),
        sa.Column("baseline_hash", sa.String(length=64), nullable=True),
        sa.Column("baseline_text", sa.Text(), nullable=True),
        sa.Column("baseline_at", sa.DateTime(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("record_id"),
    )


def downgrade() -> None:
    op.drop_table("page_watch")
