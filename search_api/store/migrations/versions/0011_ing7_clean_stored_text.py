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
most of them never parsed (a search of the JSON text first).

Downgrade: nothing to undo (the old code cleaned these strings on every read).

Revision ID: 0011_ing7_clean_stored_text
Revises: 0010_i16e_undated_fair_status
Create Date: 2026-12-08
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011_ing7_clean_stored_text"
down_revision: str | None = "0010_i16e_undated_fair_status"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 1000

_records = sa.table("records", sa.column("id", sa.String), sa.column("data", sa.Text))


# The cleaning as it was when this migration was written (search_api/domain/records.py
# clean_string, clean_strings), copied: a migration imports nothing but the tables, and does
# what it did then whatever the code becomes. tests/test_stored_records.py checks that the two
# still agree (else the stored rows need cleaning again by a new migration).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")
_BREAKS = re.compile(r"[\n\t\v\f\u2028\u2029\x85]")
_MULTILINE = frozenset({"summary", "text"})
_MAY_CHANGE = re.compile("|".join(p.pattern for p in (_CONTROL, _INVISIBLE, _BREAKS)) + "|\r")
# The same in JSON text: a character as itself, or escaped (any \uXXXX, \b \f \n \r \t).
_JSON_MAY_CHANGE = re.compile(_MAY_CHANGE.pattern + r"|\\[bfnrtu]")


def clean_text(value: str, *, multiline: bool = False) -> str:
    if not _MAY_CHANGE.search(value):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _INVISIBLE.sub("", _CONTROL.sub("", value))
    return value if multiline else _BREAKS.sub(" ", value)


def clean_record(data: dict[str, Any]) -> dict[str, Any]:
    """Every string of a record's fields cleaned, but URLs (refused, never cleaned)."""

    def clean(value: Any, multiline: bool) -> Any:
        if isinstance(value, str):
            return clean_text(value, multiline=multiline)
        if isinstance(value, list):
            return [clean(v, multiline) for v in value]
        if isinstance(value, dict):
            return {k: clean(v, False) for k, v in value.items()}
        return value

    return {k: v if k.endswith("url") else clean(v, k in _MULTILINE) for k, v in data.items()}


def cleaned(raw: str) -> str | None:
    """The row's JSON with its strings cleaned, None when there is nothing to clean."""
    if not _JSON_MAY_CHANGE.search(raw):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # a broken row stays as it is
    if not isinstance(data, dict):
        return None
    clean = clean_record(data)
    if clean == data:
        return None
    out = json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate ("\ud800"), which json reads: left as it was
    return out


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
