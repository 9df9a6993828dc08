"""Curated records over the API: records an agency enters by hand where no source exists.

A hand-curated record lives under the source id `curated_<agency>` and carries
`curated_by=<agency>`; only those can be changed here. Crawled records (a curated YAML file
included) belong to their source: the next crawl would undo an edit, so editing them is refused.
Writes go through the store, which writes the outbox row in the same transaction; the app's
background indexer then makes the change searchable.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from pydantic import ValidationError

from search_api.auth import Writer, check_owner
from search_api.deps import get_store
from search_api.domain.languages import language_problem
from search_api.domain.records import KINDS, PROVENANCE_FIELDS, AnyRecord, parse_record
from search_api.domain.sources import format_validation_error
from search_api.domain.textfold import fold_accents
from search_api.errors import Conflict, Forbidden, InvalidSource, NotFound
from search_api.store import Store
from search_api.store.keys import Principal

router = APIRouter(prefix="/api/v1/records", tags=["curation"])

CURATED_PREFIX = "curated_"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
# Set by the service, never by a client.
SERVER_FIELDS = PROVENANCE_FIELDS | {"id", "source_id", "source_url"}

EXAMPLE = {
    "kind": "finance",
    "slug": "ukef-export-insurance",
    "title": "Export insurance for small exporters",
    "url": "https://www.example.org/export-insurance",
    "provider": {"name": "Example Export Credit Agency", "type": "eca"},
    "instruments": ["credit_insurance"],
    "eligible_exporter_countries": ["GB"],
    "markets": ["KE", "NG"],
    "sme_focus": True,
}


def curated_source_id(agency: str) -> str:
    return f"{CURATED_PREFIX}{agency}"


def is_hand_curated(record: AnyRecord) -> bool:
    return bool(record.curated_by) and record.source_id == curated_source_id(str(record.curated_by))


def _invalid(message: str) -> InvalidSource:
    return InvalidSource(message, code="invalid_parameter")


def _validate(data: dict[str, Any]) -> AnyRecord:
    kind = data.get("kind")
    if kind not in KINDS:
        raise _invalid(f"kind: required, one of {', '.join(KINDS)}")
    problem = language_problem(data.get("language"))
    if problem:  # the model would quietly drop it; a person typed it, so say so
        raise _invalid(f"language: {problem}")
    try:
        return parse_record(data)
    except ValidationError as exc:
        raise _invalid(format_validation_error(exc).replace("\n", "; ")) from exc


def _refuse_server_fields(data: dict[str, Any]) -> None:
    given = sorted(set(data) & SERVER_FIELDS)
    if given:
        raise _invalid(f"{given[0]}: set by Tradepoint, not by a client")


def new_slug(title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold_accents(title)).strip("-")[:60].strip("-")
    return f"{base or 'record'}-{secrets.token_hex(3)}"


def create_curated(store: Store, principal: Principal, body: Any) -> AnyRecord:
    if not isinstance(body, dict):
        raise _invalid("body: expected a record (a JSON object)")
    data = dict(body)
    _refuse_server_fields(data)
    agency = data.pop("curated_by", None) or principal.name
    if not principal.may_edit(agency):
        raise Forbidden(
            f"curated_by: agency {principal.name!r} may add records only as itself, "
            f"not as {agency!r}"
        )
    slug = data.pop("slug", None) or new_slug(str(data.get("title") or ""))
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise _invalid("slug: 1-80 lowercase letters, digits, '.', '_' or '-'")
    record_id = f"{curated_source_id(agency)}:{slug}"
    if store.get_record(record_id) is not None:
        raise Conflict(
            f"slug: record {record_id!r} exists already; change it with PATCH or pick another slug",
            code="record_exists",
        )
    # A hand-entered fact is dated: readers see how old it is.
    data.setdefault("as_of", date.today().isoformat())
    record = _validate(
        {**data, "id": record_id, "source_id": curated_source_id(agency), "curated_by": agency}
    )
    store.upsert_records([record])
    return store.get_record(record_id) or record


def editable_record(store: Store, principal: Principal, record_id: str) -> AnyRecord:
    """The record, if it is hand-curated and the caller may change it."""
    record = store.get_record(record_id)
    if record is None:
        raise NotFound(f"record {record_id!r} not found")
    if not is_hand_curated(record):
        raise Conflict(
            f"record {record_id!r} comes from source {record.source_id!r}: change the source "
            "instead (a crawl would undo the edit); only records added by hand can be edited",
            code="not_curated",
        )
    check_owner(principal, record.curated_by, f"record {record_id!r}")
    return record


def update_curated(
    store: Store, principal: Principal, record_id: str, changes: Any, *, replace: bool = False
) -> AnyRecord:
    """Apply a partial update (PATCH; null clears a field) or a whole new record (`replace`)."""
    record = editable_record(store, principal, record_id)
    if not isinstance(changes, dict):
        raise _invalid("body: expected an object of fields to change")
    changes = dict(changes)
    for name in ("slug", "curated_by"):
        if name in changes:
            raise _invalid(f"{name}: cannot change; add a new record instead")
    _refuse_server_fields(changes)
    if changes.get("kind", record.kind) != record.kind:
        raise _invalid("kind: cannot change; add a new record instead")
    keep = {"id", "kind", "source_id", "curated_by"}
    data = record.model_dump(mode="json", exclude=PROVENANCE_FIELDS, exclude_none=True)
    if replace:
        data = {k: v for k, v in data.items() if k in keep}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    updated = _validate(data)
    store.upsert_records([updated])
    return store.get_record(record_id) or updated


def delete_curated(store: Store, principal: Principal, record_id: str) -> None:
    editable_record(store, principal, record_id)
    store.delete_record(record_id)


StoreDep = Annotated[Store, Depends(get_store)]


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
