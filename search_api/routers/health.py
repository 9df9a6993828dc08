"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from search_api.deps import get_backend, get_store
from search_api.search.base import SearchBackend
from search_api.store import Store

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store and the search index can answer")
def readyz(
    store: Annotated[Store, Depends(get_store)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["store"] = "ok"
        checks["outbox_pending"] = store.outbox_size()
    except Exception as exc:
        checks["store"] = f"error: {type(exc).__name__}"
    checks["search"] = "ok" if backend.ping() else "unavailable"
    ok = checks["store"] == "ok" and checks["search"] == "ok"
    status = "ok" if ok else ("degraded" if checks["store"] == "ok" else "down")
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ok else 503)
