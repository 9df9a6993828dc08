"""Search backends. A backend is a module here exposing `create(settings) -> SearchBackend`;
adding one needs no change outside its own module (and its name in the settings)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from search_api.errors import TradepointError
from search_api.search.base import SearchBackend, SearchQuery, SearchResult

if TYPE_CHECKING:
    from search_api.settings import Settings

__all__ = ["SearchBackend", "SearchQuery", "SearchResult", "backend_name", "create_backend"]


def backend_name(settings: Settings) -> str:
    # Setting an Elasticsearch URL is how operators ask for the scale-out backend.
    if settings.elasticsearch_url and settings.search_backend == "tantivy":
        return "elastic"
    return settings.search_backend


def create_backend(settings: Settings) -> SearchBackend:
    name = backend_name(settings)
    unknown = TradepointError(
        f"unknown search backend {name!r}: TRADEPOINT_SEARCH_BACKEND names a module in "
        "search_api/search/ that exposes create(settings) (tantivy or elastic)",
        code="backend_unavailable",
        status_code=503,
    )
    if not name.isidentifier():
        raise unknown
    try:
        module = importlib.import_module(f"search_api.search.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"search_api.search.{name}":
            raise
        raise unknown from exc
    # The package also holds the backends' helper modules (base, indexer, queries, ...):
    # what makes a module a backend is its factory, not a list of names to refuse.
    create = getattr(module, "create", None)
    if not callable(create):
        raise unknown
    return create(settings)
