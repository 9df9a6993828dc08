"""The text of stored records cleaned once, so that reading them back need not clean it again.

Data only, no schema change. Since issue 13 every record is cleaned when it is validated
(search_api/domain/records.py `clean_strings`: no control characters, bidi overrides or
zero-width characters, no line breaks in one-line fields), and every write stores a validated
record; rows written before that may still hold such characters. Readers of the stored JSON
now trust it (`load_stored_record`: cleaning every record the indexer read cost as much as
validating it), so those rows get their strings cleaned here, as validating them did on every
read. Nothing else changes: not the content hash, the version or the change feed, and no
outbox row, as the search index was built from the cleaned records already. Rows that are not
JSON objects stay as they are (record_problems knows them); so do rows with nothing to clean,
most of them never parsed (`json_may_need_cleaning` first).

Downgrade: nothing to undo (the old code cleaned these strings on every read).

Revision ID: 0011_ing7_clean_stored_text
Revises: 0010_i16e_undated_fair_status
Create Date: 2026-12-08
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from search_api.domain.records import clean_strings, json_may_need_cleaning

revision: str = "0011_ing7_clean_stored_text"
down_revision: str | None = "0010_i16e_undated_fair_status"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 1000

_records = sa.table("records", sa.column("id", sa.String), sa.column("data", sa.Text))


def cleaned(raw: str) -> str | None:
    """The row's JSON with its strings cleaned, None when there is nothing to clean."""
    if not json_may_need_cleaning(raw):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # a broken row stays as it is
    if not isinstance(data, dict):
        return None
    clean = clean_strings(data)
    if clean == data:
        return None
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


def upgrade() -> None:
    conn = op.get_bind()
    update = (
        _records.update()
        .where(_records.c.id == sa.bindparam("b_id"))
        .values(data=sa.bindparam("b_data"))
    )
    last = ""
    while True:
        # Keyset paging: a large store is read a batch at a time, in constant memory.
        rows = conn.execute(
            sa.select(_records.c.id, _records.c.data)
            .where(_records.c.id > last)
            .order_by(_records.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        changes = [
            {"b_id": record_id, "b_data": text}
            for record_id, raw in rows
            if (text := cleaned(raw)) is not None
        ]
        if changes:
            conn.execute(update, changes)
        last = rows[-1][0]


def downgrade() -> None:
    pass
