"""The source registry over the API: list, add, change, remove, crawl now, runs, preview.

Reads are public; writes need an agency key (its own sources) or an admin key. The rules live
in services/sources.py, shared with the agency web pages and the command line.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from search_api.deps import SettingsDep, StoreDep, Writer
from search_api.domain.sources import source_schema
from search_api.services.access import check_owner
from search_api.services.crawls import start_crawl
from search_api.services.health import run_dict
from search_api.services.sources import (
    check_new_owner,
    create_source,
    delete_source,
    preview_source,
    source_view,
    update_source,
    validate_spec,
)

router = APIRouter(prefix="/api/v1/sources", tags=["sources"])

# A source's body is validated by its format's model (services/sources.validate_spec); the
# OpenAPI document shows every format's options.
SOURCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": source_schema()}},
    }
}
SourceBody = Annotated[dict[str, Any], Body()]


@router.get("", summary="Registered sources with their crawl health")
def list_sources(
    store: StoreDep,
    owner: Annotated[str | None, Query(max_length=80, description="Only this agency's")] = None,
) -> dict[str, Any]:
    specs = [s for s in store.list_sources() if owner is None or s.owner == owner]
    return {"total": len(specs), "items": [source_view(store, s) for s in specs]}


@router.post(
    "",
    status_code=201,
    summary="Add a source (agency: owned by the caller)",
    openapi_extra=SOURCE_BODY,
)
def post_source(
    spec: SourceBody, principal: Writer, store: StoreDep, response: Response
) -> dict[str, Any]:
    created = create_source(store, principal, spec)
    response.headers["Location"] = f"/api/v1/sources/{created.id}"
    return source_view(store, created)


@router.post(
    "/preview",
    summary="Records a proposed source would yield; writes nothing",
    openapi_extra=SOURCE_BODY,
)
def post_preview(spec: SourceBody, principal: Writer, settings: SettingsDep) -> dict[str, Any]:
    checked = validate_spec(spec)
    return preview_source(settings, check_new_owner(principal, checked))


@router.get("/{source_id}", summary="A source's spec and crawl health")
def get_source(source_id: str, store: StoreDep) -> dict[str, Any]:
    return source_view(store, store.get_source(source_id))


@router.patch("/{source_id}", summary="Change some fields of a source")
def patch_source(
    source_id: str,
    changes: Annotated[dict[str, Any], Body(description="Fields to change; null resets")],
    principal: Writer,
    store: StoreDep,
) -> dict[str, Any]:
    return source_view(store, update_source(store, principal, source_id, changes))


@router.delete("/{source_id}", status_code=204, summary="Remove a source (its records stay)")
def remove_source(source_id: str, principal: Writer, store: StoreDep) -> Response:
    delete_source(store, principal, source_id)
    return Response(status_code=204)


@router.post("/{source_id}/crawl", status_code=202, summary="Crawl a source now")
def crawl_source(
    source_id: str, principal: Writer, store: StoreDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    spec = store.get_source(source_id)
    check_owner(principal, spec.owner, f"source {source_id!r}")
    run_id = start_crawl(settings, store, source_id)
    response.headers["Location"] = f"/api/v1/sources/{source_id}/runs"
    return {"run_id": run_id, "source_id": source_id, "status": "running"}


@router.get("/{source_id}/runs", summary="A source's runs, newest first, with stats and errors")
def get_runs(
    source_id: str, store: StoreDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    store.get_source(source_id)
    runs = store.list_runs(source_id, limit=limit)
    return {"total": len(runs), "items": [run_dict(r) for r in runs]}
