"""Search backends. `create_backend` is the only place that picks one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search_api.errors import TradepointError
from search_api.search.base import SearchBackend, SearchQuery, SearchResult

if TYPE_CHECKING:
    from search_api.settings import Settings

__all__ = ["SearchBackend", "SearchQuery", "SearchResult", "create_backend"]


def create_backend(settings: Settings) -> SearchBackend:
    if settings.elasticsearch_url or settings.search_backend == "elasticsearch":
        # The Elasticsearch backend is planned (scale-out); refuse clearly rather than
        # silently falling back to the embedded index.
        raise TradepointError(
            "the Elasticsearch backend is not available in this version; unset "
            "TRADEPOINT_ELASTICSEARCH_URL and TRADEPOINT_SEARCH_BACKEND to use tantivy",
            code="backend_unavailable",
            status_code=503,
        )
    if settings.search_backend != "tantivy":
        raise TradepointError(
            f"unknown search backend {settings.search_backend!r}",
            code="bad_setting",
            status_code=500,
        )
    from search_api.search.tantivy import TantivyBackend

    return TantivyBackend(settings.index_dir)
