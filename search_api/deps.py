"""FastAPI dependencies: routers receive the store and the backend that `create_app` made.

They are `async` because FastAPI runs a plain `def` dependency in a worker thread: a thread hop
per dependency per request, for a one-line attribute lookup.
"""

from __future__ import annotations

from fastapi import Request

from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_backend(request: Request) -> SearchBackend:
    return request.app.state.backend


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings
