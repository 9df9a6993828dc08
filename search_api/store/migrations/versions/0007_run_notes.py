"""Run notes: values a crawl repaired or inferred (rule, page, message), next to its errors.

Revision ID: 0007_run_notes
Revises: 0006_subscription_client_key
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_run_notes"
down_revision: str | None = "0006_subscription_client_key"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable: runs recorded before notes existed have none.
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("notes")
