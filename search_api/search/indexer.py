"""Moves changes from the system of record into the search index.

The outbox is drained in id order; a record is read from the store at drain time, so several
changes to one record cost one index write and the index always ends at the latest version.
"""

from __future__ import annotations

import logging

from search_api.search.base import SearchBackend
from search_api.store import Store

log = logging.getLogger(__name__)


def drain_outbox(store: Store, backend: SearchBackend, batch: int = 500) -> int:
    """Index every pending change; returns how many outbox rows were applied.

    Rows are acknowledged only after the backend accepted the batch: if the backend fails,
    the changes stay in the outbox for the next drain.
    """
    applied = 0
    while True:
        rows = store.fetch_outbox(batch)
        if not rows:
            return applied
        ids = list(dict.fromkeys(record_id for _, record_id, _ in rows))
        records = store.get_records(ids)
        to_index = [records[i] for i in ids if i in records]
        to_delete = [i for i in ids if i not in records]
        if to_index:
            backend.index(to_index)
        if to_delete:
            backend.delete(to_delete)
        store.ack_outbox([row_id for row_id, _, _ in rows])
        applied += len(rows)
        log.info(
            "indexed %d, deleted %d (outbox rows %d)", len(to_index), len(to_delete), len(rows)
        )


def reindex(store: Store, backend: SearchBackend) -> int:
    """Rebuild the whole index from the system of record.

    Outbox rows written before the rebuild started are covered by it and acknowledged; rows
    written during the rebuild stay and are applied by the next drain.
    """
    upto = store.outbox_max_id()
    count = backend.rebuild(store.iter_records())
    store.ack_outbox_upto(upto)
    log.info("reindexed %d records into %s", count, backend.name)
    return count
