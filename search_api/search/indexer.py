"""Moves changes from the system of record into the search index.

The outbox is drained in id order; a record is read from the store at drain time, so several
changes to one record cost one index write and the index always ends at the latest version.
"""

from __future__ import annotations

import logging

from search_api.errors import TradepointError
from search_api.search import create_backend
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.leases import Lease

log = logging.getLogger(__name__)

# Only one process drains at a time (every API worker runs an indexer): two drainers could
# write an older version of a record over a newer one. The lease is renewed before every
# batch is written, so it only lapses when a drainer stalls for this long.
OUTBOX_LEASE = "outbox"
OUTBOX_LEASE_SECONDS = 120.0


def drain_outbox(
    store: Store, backend: SearchBackend, batch: int = 500, *, lease: Lease | None = None
) -> int:
    """Index every pending change; returns how many outbox rows were applied.

    Takes the outbox lease first; when another process holds it, returns 0 at once: that
    process applies the pending changes.
    """
    if not store.fetch_outbox(1) and not backend.needs_rebuild():
        return 0  # idle: no lease taken, so polling workers only read
    lease = lease or Lease(store, OUTBOX_LEASE, seconds=OUTBOX_LEASE_SECONDS)
    if not lease.acquire():
        log.debug("outbox: another process is draining it")
        return 0
    try:
        return _drain(store, backend, batch, lease)
    finally:
        lease.release()


def _drain(store: Store, backend: SearchBackend, batch: int, lease: Lease) -> int:
    """Drain under the lease.

    Rows are acknowledged only after the backend accepted the batch: if the backend fails,
    the changes stay in the outbox for the next drain.
    """
    if backend.needs_rebuild():
        # An index from an older version of the code: rebuilding covers every pending change.
        log.warning("search index schema is outdated; rebuilding it from the system of record")
        return reindex(store, backend)
    applied = 0
    while True:
        rows = store.fetch_outbox(batch)
        if not rows:
            return applied
        ids = list(dict.fromkeys(record_id for _, record_id, _ in rows))
        # decoded while the index write iterates them (store.stored_records)
        stored = store.stored_records(ids)
        # Renewed after reading and before writing: if we stalled past the lease and another
        # drainer took over, what we read may be older than what it wrote; leave it to them.
        if not lease.renew():
            log.warning("outbox: lease lost to %s; stopping", lease.current_holder())
            return applied
        failed = backend.index(stored) if stored.ids else {}
        store.note_broken(stored)  # rows that no longer validate: deleted from the index
        to_delete = [i for i in ids if i not in stored.ids or i in stored.broken]
        if failed:
            # reported where a source's broken records are (its health, /readyz), and
            # acknowledged: the others are indexed, and this one is tried again when its
            # source writes it again (or at a reindex)
            sources = {record_id: source_id for record_id, source_id, _ in stored.rows}
            store.note_record_problems({rid: (sources[rid], why) for rid, why in failed.items()})
        if to_delete:
            backend.delete(to_delete)
        store.ack_outbox([row_id for row_id, _, _ in rows])
        applied += len(rows)
        indexed = len(stored.ids) - len(stored.broken) - len(failed)
        log.info("indexed %d, deleted %d (outbox rows %d)", indexed, len(to_delete), len(rows))


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


def index_pending(settings: Settings, store: Store) -> str | None:
    """Bring the index up to date after a crawl; returns why it could not (the index busy or
    down), in which case a running `tradepoint serve` applies the changes from the outbox."""
    try:
        applied = drain_outbox(store, create_backend(settings))
    except TradepointError as exc:
        return exc.message
    log.info("indexed %d pending changes", applied)
    return None
