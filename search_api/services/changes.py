"""The change feed as partners read it: `GET /api/v1/changes?since=CURSOR&limit=N`.

A cursor is an opaque string naming a position in the log of record changes
(`store/changes.py`, which explains why its order is the commit order). A client stores the
`next_cursor` of each answer and passes it as `since` next time: it then sees every change
once, in commit order, whatever restarts, reindexes or crashes happen in between (the log is
in the system of record, not in the index).
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from typing import Any

import orjson

from search_api.domain.records import KINDS
from search_api.errors import InvalidParameter
from search_api.store import Store
from search_api.store.changes import WITHDRAWN, Change

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_CURSOR_VERSION = 1
_CURSOR = struct.Struct(">BQ")


def encode_cursor(change_id: int) -> str:
    """An opaque cursor: a version byte and the change id, base64url without padding."""
    return base64.urlsafe_b64encode(_CURSOR.pack(_CURSOR_VERSION, change_id)).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, name: str = "since") -> int:
    """The change id in a cursor; an empty cursor is the start of the feed."""
    if cursor is None or not cursor.strip():
        return 0
    raw = cursor.strip()
    try:
        version, change_id = _CURSOR.unpack(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, struct.error, ValueError):
        raise InvalidParameter(
            f"{name}: {cursor[:40]!r} is not a cursor of this feed; pass a `next_cursor` "
            "as it was given, or leave it out to start from the beginning"
        ) from None
    if version != _CURSOR_VERSION:
        raise InvalidParameter(f"{name}: a cursor of an unknown version; start again without it")
    return int(change_id)


def change_json(
    change: Change, record: dict[str, Any] | None, *, with_record: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cursor": encode_cursor(change.id),
        "op": change.op,
        "record_id": change.record_id,
        "kind": change.kind,
        "version": change.version,
        "changed_at": change.changed_at.isoformat() + "Z",
        "fields": list(change.fields),
    }
    if change.op == WITHDRAWN:
        out["deleted"] = change.tombstone is not None
    elif with_record:
        out["record"] = record
    return out


def list_changes(
    store: Store,
    since: str | None,
    limit: int = DEFAULT_LIMIT,
    *,
    kinds: Sequence[str] = (),
    include_records: bool = True,
) -> dict[str, Any]:
    """Changes after `since`, oldest first, and the cursor to ask from next time.

    `kinds` keeps changes of those record kinds only; the cursor still moves past the others,
    so a filtered reader does not read them again."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit: must be between 1 and {MAX_LIMIT}")
    for kind in kinds:
        if kind not in KINDS:
            raise InvalidParameter(f"kind: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    after = decode_cursor(since)
    # The head first: every change up to it is committed (ids are taken in commit order), so
    # a reader that saw nothing of a wanted kind up to it may move its cursor there.
    head = store.last_change_id()
    if after > head:
        raise InvalidParameter(
            "since: this cursor is ahead of the feed (was the database restored from an "
            "older backup?); read everything again from GET /api/v1/export, then follow "
            "the cursor it gives"
        )
    changes = store.changes_after(after, limit, upto=head, kinds=kinds)
    has_more = len(changes) == limit
    next_id = changes[-1].id if has_more else head
    records: dict[str, Any] = {}
    if include_records:
        wanted = [c.record_id for c in changes if c.op != WITHDRAWN]
        records = store.get_record_json(wanted)
    return {
        "changes": [
            change_json(
                c,
                orjson.loads(records[c.record_id]) if c.record_id in records else None,
                with_record=include_records,
            )
            for c in changes
        ],
        "next_cursor": encode_cursor(next_id),
        "has_more": has_more,
    }


def current_cursor(store: Store) -> str:
    """The cursor of the feed's head: changes after now are read from it."""
    return encode_cursor(store.last_change_id())
