"""The change watch of curated records' official pages (table `page_watch`).

A record's first reading after its `as_of` is the baseline: the page as it stood when the
record's facts were checked (or as close to it as the watch can know). Later readings are
compared with it (domain.page_change); the first that differs materially sets `changed_at`,
which stays until a curator re-checks the record (a newer `as_of` takes a new baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from search_api.domain.page_change import changed_materially, fingerprint, normalised
from search_api.store.base import StoreBase, utcnow
from search_api.store.tables import PageWatchRow

BASELINE_MAX_CHARS = 400_000


@dataclass(frozen=True)
class Reading:
    """What the watch found on a record's page: its main text, or why there is none."""

    record_id: str
    url: str
    as_of: date | None
    text: str | None = None
    error: str | None = None


def record_reading(store: StoreBase, reading: Reading, now: datetime | None = None) -> str:
    """Store one reading; returns "baseline", "unchanged", "changed", "still_changed" or
    "error"."""
    now = now or utcnow()
    as_of = reading.as_of.isoformat() if reading.as_of else None
    with store.session() as s, s.begin():
        row = s.get(PageWatchRow, reading.record_id)
        if row is None:
            row = PageWatchRow(record_id=reading.record_id, url=reading.url)
            s.add(row)
        if reading.text is None:
            row.checked_at, row.error = now, reading.error or "no text"
            return "error"
        text = normalised(reading.text)[:BASELINE_MAX_CHARS]
        digest = fingerprint(reading.text)
        rebaseline = (
            row.baseline_hash is None
            or row.url != reading.url
            or (as_of is not None and (row.baseline_as_of or "") < as_of)
        )
        row.url, row.checked_at, row.last_hash, row.error = reading.url, now, digest, None
        if rebaseline:
            row.baseline_as_of, row.baseline_hash, row.baseline_text = as_of, digest, text
            row.baseline_at, row.changed_at, row.similarity = now, None, 1.0
            return "baseline"
        if digest == row.baseline_hash:
            row.similarity = 1.0
            if row.changed_at is not None:
                row.changed_at = None  # changed back: nothing to check any more
            return "unchanged"
        changed, score = changed_materially(row.baseline_text or "", text)
        row.similarity = round(score, 4)
        if not changed:
            return "unchanged"
        if row.changed_at is None:
            row.changed_at = now
            return "changed"
        return "still_changed"


def page_watch(store: StoreBase, record_id: str) -> PageWatchRow | None:
    with store.session() as s:
        return s.get(PageWatchRow, record_id)


def changed_pages(
    store: StoreBase, record_ids: list[str] | None = None, source_id: str | None = None
) -> list[PageWatchRow]:
    """Watched pages that changed materially since their record was checked, oldest first
    (of `record_ids`, or of the records of `source_id`)."""
    with store.session() as s:
        q = select(PageWatchRow).where(PageWatchRow.changed_at.is_not(None))
        if record_ids is not None:
            q = q.where(PageWatchRow.record_id.in_(record_ids))
        if source_id is not None:  # record ids are "<source id>:<key>"; "_" is no wildcard
            q = q.where(PageWatchRow.record_id.startswith(f"{source_id}:", autoescape=True))
        return list(s.scalars(q.order_by(PageWatchRow.changed_at)).all())


def watch_view(row: PageWatchRow | None) -> dict[str, object] | None:
    """What a record says of its official page (API and web): None when it is not watched."""
    if row is None or row.checked_at is None:
        return None
    return {
        "url": row.url,
        "checked_on": row.checked_at.date().isoformat(),
        "changed_on": row.changed_at.date().isoformat() if row.changed_at else None,
        "similarity": row.similarity,
        "error": row.error,
    }
