"""The system of record: records with provenance, sources, crawl runs and the outbox."""

# Modules defining further tables register them on the shared metadata when imported; import
# them here so that `Store()` creates every table.
from search_api.store import keys as keys
from search_api.store import subscriptions as subscriptions
from search_api.store.core import RunStats, Store, UpsertStats

__all__ = ["RunStats", "Store", "UpsertStats"]
