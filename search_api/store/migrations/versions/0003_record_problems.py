"""Stored records that no longer validate are noted in `record_problems` (and left out of the
index and of lists) instead of failing every read that meets them.

Revision ID: 0003_record_problems
Revises: 0002_key_display_name
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_record_problems"
down_revision: str | None = "0002_key_display_name"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "record_problems",
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("noted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    with op.batch_alter_table("record_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_problems_source_id"), ["source_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("record_problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_problems_source_id"))
    op.drop_table("record_problems")
