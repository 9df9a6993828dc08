"""The change feed and the bulk export (the rules are in services/changes.py and export.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from search_api.deps import StoreDep, search_request
from search_api.routers.params import SEARCH_OPENAPI
from search_api.services.changes import DEFAULT_LIMIT, MAX_LIMIT, current_cursor, list_changes
from search_api.services.export import MEDIA_TYPES, export

router = APIRouter(prefix="/api/v1", tags=["sync"])

CHANGES_EXAMPLE: dict[str, Any] = {
    "changes": [
        {
            "cursor": "AQAAAAAAAAAB",
            "op": "created",
            "record_id": "de_example_fairs:3f2a9c1e0b7d4a55",
            "kind": "fair",
            "version": 1,
            "changed_at": "2027-01-15T04:12:09Z",
            "fields": [],
            "record": {"id": "de_example_fairs:3f2a9c1e0b7d4a55", "kind": "fair", "...": "..."},
        },
        {
            "cursor": "AQAAAAAAAAAC",
            "op": "changed",
            "record_id": "eu_eping_requirements:91be0c44d2a0f713",
            "kind": "requirement",
            "version": 4,
            "changed_at": "2027-01-15T04:12:10Z",
            "fields": ["comment_deadline", "status"],
            "record": {"id": "eu_eping_requirements:91be0c44d2a0f713", "...": "..."},
        },
        {
            "cursor": "AQAAAAAAAAAD",
            "op": "withdrawn",
            "record_id": "de_example_fairs:0c1d2e3f4a5b6c7d",
            "kind": "fair",
            "version": 3,
            "changed_at": "2027-01-15T04:12:11Z",
            "fields": ["withdrawn"],
            "deleted": False,
        },
    ],
    "next_cursor": "AQAAAAAAAAAD",
    "has_more": False,
}


class ChangeOut(BaseModel):
    cursor: str = Field(description="Position of this change; `since` resumes after it.")
    op: Literal["created", "changed", "withdrawn"]
    record_id: str
    kind: Literal["fair", "requirement", "finance"]
    version: int = Field(description="The record's version after this change.")
    changed_at: str = Field(description="When the change was committed (UTC).")
    fields: list[str] = Field(description="Fields this change changed (`changed` only).")
    record: dict[str, Any] | None = Field(
        None,
        description="The record as it is now (its version may be newer than this change's); "
        "absent for withdrawals (tombstones), null if it has been deleted since.",
    )
    deleted: bool | None = Field(
        None, description="Withdrawals only: true when the record was deleted outright."
    )


class ChangesOut(BaseModel):
    model_config = {"json_schema_extra": {"examples": [CHANGES_EXAMPLE]}}

    changes: list[ChangeOut]
    next_cursor: str = Field(description="Pass as `since` next time; store it after applying.")
    has_more: bool = Field(description="True when more changes are waiting: ask again now.")


@router.get(
    "/changes",
    response_model=ChangesOut,
    response_model_exclude_unset=True,
    summary="Record changes in commit order, from a cursor",
    description="Every change to a record (created, changed with the changed field names, "
    "withdrawn as a tombstone), oldest first. Start without `since`, then pass the "
    "`next_cursor` of each answer: nothing is skipped or repeated, across restarts and "
    "reindexes. A cursor is opaque; keep it as given.",
    responses={200: {"content": {"application/json": {"example": CHANGES_EXAMPLE}}}},
)
def changes(
    store: StoreDep,
    since: Annotated[
        str | None, Query(max_length=100, description="A `next_cursor`; empty: from the start")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    kind: Annotated[
        list[Literal["fair", "requirement", "finance"]] | None,
        Query(description="Only changes of these record kinds (may repeat)"),
    ] = None,
    include_records: Annotated[
        bool, Query(description="false: ids and versions only, without the records")
    ] = True,
) -> dict[str, Any]:
    return list_changes(store, since, limit, kinds=kind or (), include_records=include_records)


EXPORT_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "ndjson (one record per line, as GET /records/{id} gives it) or csv",
            "schema": {"type": "string", "enum": ["ndjson", "csv"], "default": "ndjson"},
        },
        *[p for p in SEARCH_OPENAPI["parameters"] if p["name"] not in ("page", "size", "sort")],
    ],
    "responses": {
        "200": {
            "description": "Every matching record, streamed in id order. `X-Changes-Cursor` "
            "is the change feed's position when the export started.",
            "headers": {
                "X-Changes-Cursor": {
                    "description": "Follow GET /api/v1/changes?since= this after loading",
                    "schema": {"type": "string"},
                }
            },
            "content": {
                "application/x-ndjson": {
                    "example": '{"id":"de_example_fairs:3f2a9c1e0b7d4a55","kind":"fair",'
                    '"title":"Example Food Fair","version":2,'
                    '"last_changed":"2027-01-15T04:12:09", "...": "..."}\n'
                },
                "text/csv": {
                    "example": "id,kind,title,...,version,...\r\n"
                    "de_example_fairs:3f2a9c1e0b7d4a55,fair,Example Food Fair,...,2,...\r\n"
                },
            },
        }
    },
}


@router.get(
    "/export",
    summary="Every record of a search, streamed (NDJSON or CSV)",
    description="The same parameters as /search (page, size and sort aside), with no page "
    "limit. Gzip-compressed when the request says `Accept-Encoding: gzip`.",
    response_class=StreamingResponse,
    openapi_extra=EXPORT_OPENAPI,
)
def export_records(
    request: Request,
    store: StoreDep,
    format: Annotated[Literal["ndjson", "csv"], Query(include_in_schema=False)] = "ndjson",
) -> StreamingResponse:
    search = search_request(request, ignore=("page", "size", "sort"))
    query = search.to_query(facets=False)
    gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    headers = {
        "X-Changes-Cursor": current_cursor(store),
        "Content-Disposition": f'attachment; filename="tradepoint-export.{format}"',
        "Cache-Control": "no-store",
    }
    if gzip:
        # Compressed here, as it streams: the app's GZipMiddleware leaves a response that
        # already says Content-Encoding alone.
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return StreamingResponse(
        export(store, query, format, gzip=gzip), media_type=MEDIA_TYPES[format], headers=headers
    )
