"""Leases: a named, expiring claim that at most one process holds at a time.

Every API worker runs an outbox indexer. Two drainers at once could write an older version of
a record over a newer one (each reads the record at drain time, and their index writes may
land in either order), so draining takes the `outbox` lease first. A lease is one row; it is
taken or renewed by a single conditional UPDATE (atomic on SQLite and PostgreSQL alike), so
no database-specific lock is needed. A holder that dies without releasing is replaced once
its lease expires.

Expiry uses the clocks of the hosts involved (kept in sync by NTP); the lease time is chosen
far longer than any plausible clock skew.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from search_api.store.base import StoreBase, alive
from search_api.store.tables import LeaseRow

_EPOCH = datetime(1970, 1, 1)


def _now() -> datetime:
    # Naive UTC like every other timestamp of the store; microseconds kept, unlike `utcnow()`,
    # because a lease is released and retaken within the same second.
    return datetime.now(UTC).replace(tzinfo=None)


def new_holder_id() -> str:
    """A holder id naming the process (for operators) and unique per lease user."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lease:
    """One process's handle on the lease `name`."""

    def __init__(
        self, store: StoreBase, name: str, *, seconds: float, holder: str | None = None
    ) -> None:
        self.store, self.name, self.seconds = store, name, seconds
        self.holder = holder or new_holder_id()

    def acquire(self) -> bool:
        """Take the lease if it is free or expired, or extend it if we hold it already."""
        now = _now()
        with self.store.session() as s, s.begin():
            res = s.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == self.name,
                    (LeaseRow.holder == self.holder) | (LeaseRow.expires_at <= now),
                )
                .values(holder=self.holder, expires_at=now + timedelta(seconds=self.seconds))
            )
            if res.rowcount == 1:  # type: ignore[attr-defined]
                return True
        # A holder on this host whose process is gone (killed) holds nothing: take the lease
        # now instead of waiting up to its whole term.
        dead = self._dead_holder_here()
        if dead is not None:
            with self.store.session() as s, s.begin():
                res = s.execute(
                    update(LeaseRow)
                    .where(LeaseRow.name == self.name, LeaseRow.holder == dead)
                    .values(holder=self.holder, expires_at=now + timedelta(seconds=self.seconds))
                )
                if res.rowcount == 1:  # type: ignore[attr-defined]
                    return True
        # No row updated: either someone else holds it, or the row does not exist yet. The
        # primary key makes a concurrent first insert fail for all but one process.
        try:
            with self.store.session() as s, s.begin():
                s.execute(
                    insert(LeaseRow).values(
                        name=self.name,
                        holder=self.holder,
                        expires_at=now + timedelta(seconds=self.seconds),
                    )
                )
            return True
        except IntegrityError:
            return False

    def _dead_holder_here(self) -> str | None:
        """The current holder, if it is a process of this host that no longer runs."""
        holder = self.current_holder()
        if holder is None:
            return None
        parts = holder.split(":")  # host:pid:random (new_holder_id)
        if len(parts) < 3 or not parts[-2].isdigit():
            return None
        host, pid = ":".join(parts[:-2]), int(parts[-2])
        if host != socket.gethostname()[:120] or pid == os.getpid() or alive(pid):
            return None
        return holder

    def renew(self) -> bool:
        """Extend the lease; False if it expired and another process took it meanwhile."""
        now = _now()
        with self.store.session() as s, s.begin():
            res = s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
                .values(expires_at=now + timedelta(seconds=self.seconds))
            )
            return res.rowcount == 1  # type: ignore[attr-defined]

    def release(self) -> None:
        """Let the next process take the lease at once instead of waiting for its expiry."""
        with self.store.session() as s, s.begin():
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
                .values(expires_at=_EPOCH)
            )

    def current_holder(self) -> str | None:
        """Who holds the lease now (None when free)."""
        with self.store.session() as s:
            row = s.scalar(select(LeaseRow).where(LeaseRow.name == self.name))
            if row is None or row.expires_at <= _now():
                return None
            return row.holder
