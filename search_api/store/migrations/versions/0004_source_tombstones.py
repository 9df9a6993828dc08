"""A removed source whose records or runs remain is kept as a tombstone (`removed_at`), so its
id cannot be taken by another agency.

Revision ID: 0004_source_tombstones
Revises: 0003_record_problems
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_source_tombstones"
down_revision: str | None = "0003_record_problems"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
