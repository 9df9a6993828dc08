"""The baseline: a trivial FastAPI JSON endpoint, served exactly like the search API."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# `async def` like the search endpoint (a plain `def` would add a thread hop and make the
# baseline slower, flattering the ratio).
@app.get("/api/v1/trivial")
async def trivial() -> dict[str, object]:
    return {"total": 0, "page": 1, "size": 20, "items": [], "facets": {}}
