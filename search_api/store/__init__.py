"""The system of record: records with provenance, sources, crawl runs, the outbox, API keys,
subscriptions and leases. Every table is in `tables.py`; each aggregate has its module."""

from search_api.store.base import RunStats, UpsertStats, utcnow
from search_api.store.changes import ChangesStore
from search_api.store.records import RecordsStore
from search_api.store.sources import SourcesStore


class Store(RecordsStore, SourcesStore, ChangesStore):
    """The system of record: records with their outbox and change feed, sources and their runs.

    API keys, subscriptions and leases are functions of their own modules taking a `Store`."""


__all__ = ["RunStats", "Store", "UpsertStats", "utcnow"]
