"""Curated records over the API (see services/records.py for the rules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from search_api.deps import StoreDep, Writer
from search_api.services.records import EXAMPLE, create_curated, delete_curated, update_curated

router = APIRouter(prefix="/api/v1/records", tags=["curation"])


@router.post("", status_code=201, summary="Add a curated record (curated_by = the caller)")
def post_record(
    body: Annotated[
        dict[str, Any],
        Body(
            description="A record without provenance; `slug` (optional) makes its id "
            "`curated_<agency>:<slug>`",
            examples=[EXAMPLE],
        ),
    ],
    principal: Writer,
    store: StoreDep,
    response: Response,
) -> dict[str, Any]:
    record = create_curated(store, principal, body)
    response.headers["Location"] = f"/api/v1/records/{record.id}"
    return record.model_dump(mode="json")


@router.patch("/{record_id}", summary="Change a curated record (null clears a field)")
def patch_record(
    record_id: str,
    changes: Annotated[dict[str, Any], Body()],
    principal: Writer,
    store: StoreDep,
) -> dict[str, Any]:
    return update_curated(store, principal, record_id, changes).model_dump(mode="json")


@router.delete("/{record_id}", status_code=204, summary="Delete a curated record")
def delete_record(record_id: str, principal: Writer, store: StoreDep) -> Response:
    delete_curated(store, principal, record_id)
    return Response(status_code=204)
