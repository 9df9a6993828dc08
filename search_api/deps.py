"""FastAPI dependencies: routers receive the store and the backend that `create_app` made."""

from __future__ import annotations

from fastapi import Request

from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_backend(request: Request) -> SearchBackend:
    return request.app.state.backend


def get_settings(request: Request) -> Settings:
    return request.app.state.settings
