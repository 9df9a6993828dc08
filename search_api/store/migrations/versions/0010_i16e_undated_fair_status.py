"""A fair series without known dates has no status (it was stored as "scheduled").

Data only, no schema change: the stored JSON of such fairs gets `"status": null`, so that
every reader of the stored JSON as it is (the export, the change feed, webhooks) says what the
record model says. The content hash is left alone (the model hashes a missing fair status as
"scheduled", as these records were hashed), so no record looks changed to the next crawl, the
change feed, digests or webhooks; the version stays. An outbox row per rewritten record makes
the indexer store the new JSON in the search index too.

Revision ID: 0010_i16e_undated_fair_status
Revises: 0009_agency_sessions
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010_i16e_undated_fair_status"
down_revision: str | None = "0009_agency_sessions"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 1000

_records = sa.table(
    "records",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("data", sa.Text),
)
_outbox = sa.table(
    "outbox",
    sa.column("record_id", sa.String),
    sa.column("op", sa.String),
    sa.column("created_at", sa.DateTime),
)


def _rewrite(status_from: str | None, status_to: str | None) -> None:
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    # Records are stored as compact JSON (pydantic's model_dump_json): the LIKE only narrows
    # the rows read; each is checked once parsed.
    needle = json.dumps({"status": status_from}, separators=(",", ":"))[1:-1]
    rows = conn.execute(
        sa.select(_records.c.id, _records.c.data).where(
            _records.c.kind == "fair", _records.c.data.like(f"%{needle}%")
        )
    ).all()
    updates: list[dict[str, str]] = []
    for record_id, raw in rows:
        try:
            data = json.loads(raw)
        except ValueError:
            continue  # a broken row stays as it is (record_problems knows it)
        if not isinstance(data, dict) or data.get("start_date") is not None:
            continue
        if data.get("status") != status_from:
            continue
        data["status"] = status_to
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        updates.append({"b_id": record_id, "b_data": text})
    update = (
        _records.update()
        .where(_records.c.id == sa.bindparam("b_id"))
        .values(data=sa.bindparam("b_data"))
    )
    for start in range(0, len(updates), BATCH):
        chunk = updates[start : start + BATCH]
        conn.execute(update, chunk)
        conn.execute(
            _outbox.insert(),
            [{"record_id": u["b_id"], "op": "upsert", "created_at": now} for u in chunk],
        )


def upgrade() -> None:
    _rewrite("scheduled", None)


def downgrade() -> None:
    _rewrite(None, "scheduled")
