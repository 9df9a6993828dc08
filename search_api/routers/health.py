"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from search_api.deps import BackendDep, SettingsDep, StoreDep
from search_api.services.health import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store and the search index can answer")
def readyz(store: StoreDep, backend: BackendDep, settings: SettingsDep) -> JSONResponse:
    status, checks = readiness(store, backend, max_lag=settings.index_max_lag_seconds)
    return JSONResponse(
        {"status": status, "checks": checks}, status_code=200 if status == "ok" else 503
    )
