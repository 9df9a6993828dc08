"""The embedded search backend: tantivy, in the data dir (the default)."""

from search_api.search.tantivy.backend import TantivyBackend, create

__all__ = ["TantivyBackend", "create"]
