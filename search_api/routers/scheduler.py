"""`GET /api/v1/scheduler` (admin): scheduled jobs, their next run and each source's last run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from search_api.deps import Admin, StoreDep
from search_api.services.scheduler import scheduler_status

router = APIRouter(prefix="/api/v1", tags=["scheduler"])


@router.get("/scheduler", summary="Scheduled jobs, next run times and last run per source (admin)")
def get_scheduler(_admin: Admin, store: StoreDep) -> dict[str, Any]:
    return scheduler_status(store)
