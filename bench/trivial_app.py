"""The baseline: a trivial FastAPI JSON endpoint, served exactly like the search API."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/trivial")
def trivial() -> dict[str, object]:
    return {"total": 0, "page": 1, "size": 20, "items": [], "facets": {}}
