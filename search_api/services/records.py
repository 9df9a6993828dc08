"""Curated records: records an agency enters by hand (API or web form) where no source exists.

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
from typing import Any

from pydantic import ValidationError

from search_api.domain.languages import language_problem
from search_api.domain.records import KINDS, PROVENANCE_FIELDS, AnyRecord, parse_record
from search_api.domain.sources import format_validation_error
from search_api.domain.textfold import fold_accents
from search_api.errors import Conflict, Forbidden, InvalidBody, NotFound
from search_api.services.access import check_owner
from search_api.store import Store
from search_api.store.keys import Principal

CURATED_PREFIX = "curated_"
"""Source id prefix of records an agency adds by hand: `curated_<agency>`; reserved, so no
registered source takes it (its crawls would withdraw those records)."""
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


def _validate(data: dict[str, Any]) -> AnyRecord:
    kind = data.get("kind")
    if kind not in KINDS:
        raise InvalidBody(f"kind: required, one of {', '.join(KINDS)}")
    problem = language_problem(data.get("language"))
    if problem:  # the model would quietly drop it; a person typed it, so say so
        raise InvalidBody(f"language: {problem}")
    try:
        return parse_record(data)
    except ValidationError as exc:
        raise InvalidBody(format_validation_error(exc).replace("\n", "; ")) from exc


def _refuse_server_fields(data: dict[str, Any]) -> None:
    given = sorted(set(data) & SERVER_FIELDS)
    if given:
        raise InvalidBody(f"{given[0]}: set by Tradepoint, not by a client")


def new_slug(title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold_accents(title)).strip("-")[:60].strip("-")
    return f"{base or 'record'}-{secrets.token_hex(3)}"


def create_curated(store: Store, principal: Principal, body: Any) -> AnyRecord:
    if not isinstance(body, dict):
        raise InvalidBody("body: expected a record (a JSON object)")
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
        raise InvalidBody("slug: 1-80 lowercase letters, digits, '.', '_' or '-'")
    record_id = f"{curated_source_id(agency)}:{slug}"
    # A hand-entered fact is dated: readers see how old it is.
    data.setdefault("as_of", date.today().isoformat())
    record = _validate(
        {**data, "id": record_id, "source_id": curated_source_id(agency), "curated_by": agency}
    )
    try:
        # Insert only: of two clients creating the same slug at once, exactly one succeeds.
        store.create_record(record)
    except Conflict:
        raise Conflict(
            f"slug: record {record_id!r} exists already; change it with PATCH or pick another slug",
            code="record_exists",
        ) from None
    return store.get_record(record_id) or record


def _check_editable(
    principal: Principal, record_id: str, source_id: str, curated_by: str | None
) -> None:
    if not (curated_by and source_id == curated_source_id(curated_by)):
        raise Conflict(
            f"record {record_id!r} comes from source {source_id!r}: change the source instead "
            "(a crawl would undo the edit); only records added by hand can be edited",
            code="not_curated",
        )
    check_owner(principal, curated_by, f"record {record_id!r}")


def editable_record(store: Store, principal: Principal, record_id: str) -> AnyRecord:
    """The record, if it is hand-curated and the caller may change it."""
    record = store.get_record(record_id)
    if record is None:
        raise NotFound(f"record {record_id!r} not found")
    _check_editable(principal, record_id, record.source_id, record.curated_by)
    return record


def update_curated(
    store: Store, principal: Principal, record_id: str, changes: Any, *, replace: bool = False
) -> AnyRecord:
    """Apply a partial update (PATCH; null clears a field) or a whole new record (`replace`)."""
    record = editable_record(store, principal, record_id)
    if not isinstance(changes, dict):
        raise InvalidBody("body: expected an object of fields to change")
    changes = dict(changes)
    for name in ("slug", "curated_by"):
        if name in changes:
            raise InvalidBody(f"{name}: cannot change; add a new record instead")
    _refuse_server_fields(changes)
    if changes.get("kind", record.kind) != record.kind:
        raise InvalidBody("kind: cannot change; add a new record instead")
    keep = {"id", "kind", "source_id", "curated_by"}
    data = record.model_dump(mode="json", exclude=set(PROVENANCE_FIELDS), exclude_none=True)
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
    # Read without validating: a broken stored record can still be deleted by its owner.
    origin = store.record_origin(record_id)
    if origin is None:
        raise NotFound(f"record {record_id!r} not found")
    _check_editable(principal, record_id, *origin)
    store.delete_record(record_id)
