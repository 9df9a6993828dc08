"""The system of record: records with provenance, sources, crawl runs and the outbox."""

from search_api.store.core import RunStats, Store, UpsertStats

__all__ = ["RunStats", "Store", "UpsertStats"]
