"""Agency pages for their curated records: list, add, edit, delete.

Same session and CSRF token as the source pages (session.py); the forms go through forms.py and
the same services as the JSON API (services/records.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from search_api.deps import StoreDep
from search_api.domain.i18n import N_
from search_api.errors import InvalidBody, TradepointError
from search_api.services import records as rw
from search_api.store.keys import Principal
from search_api.web.agency.forms import (
    KIND_FIELDS,
    fields_of,
    form_values,
    posted_values,
    record_from_form,
)
from search_api.web.agency.session import Form, Who, flash_message, redirect, render, to_signin

router = APIRouter(prefix="/agency", include_in_schema=False)


def _record_form(
    request: Request,
    principal: Principal,
    kind: str,
    values: dict[str, Any],
    *,
    record_id: str | None = None,
    status: int = 200,
    error: str | None = None,
) -> Response:
    ctx = {
        "principal": principal,
        "kind": kind,
        "fields": fields_of(kind),
        "values": values,
        "record_id": record_id,
        "error": error,
    }
    return render(request, "record_form.html", ctx, status=status)


@router.get("/records", response_class=HTMLResponse)
def my_records(request: Request, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    records = store.list_records(rw.curated_source_id(principal.name))
    return render(request, "records.html", {"principal": principal, "records": records})


def _kind(value: Any) -> str:
    kind = str(value or "")
    if kind not in KIND_FIELDS:
        raise InvalidBody(f"kind: one of {', '.join(KIND_FIELDS)}")
    return kind


@router.get("/records/new", response_class=HTMLResponse)
def new_record_form(request: Request, principal: Who, kind: str = "finance") -> Response:
    if principal is None:
        return to_signin()
    return _record_form(request, principal, _kind(kind), {})


@router.post("/records/new", response_class=HTMLResponse)
def add_record(request: Request, form: Form, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    kind = _kind(form.get("kind"))
    data = record_from_form(form, kind)
    slug = str(form.get("slug") or "").strip()
    try:
        record = rw.create_curated(store, principal, {**data, "slug": slug or None})
    except TradepointError as exc:
        return _record_form(
            request,
            principal,
            kind,
            posted_values(form, kind),
            status=exc.status_code,
            error=exc.message,
        )
    return redirect(f"/records/{record.id}", request)


@router.get("/records/{record_id}/edit", response_class=HTMLResponse)
def edit_record_form(request: Request, record_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    record = rw.editable_record(store, principal, record_id)
    values = form_values(record.model_dump(mode="json", exclude_none=True))
    return _record_form(request, principal, record.kind, values, record_id=record_id)


@router.post("/records/{record_id}/edit", response_class=HTMLResponse)
def save_record(
    request: Request, record_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    record = rw.editable_record(store, principal, record_id)
    data = record_from_form(form, record.kind)
    try:
        rw.update_curated(store, principal, record_id, data, replace=True)
    except TradepointError as exc:
        return _record_form(
            request,
            principal,
            record.kind,
            posted_values(form, record.kind),
            record_id=record_id,
            status=exc.status_code,
            error=exc.message,
        )
    return redirect(f"/records/{record_id}", request)


@router.post("/records/{record_id}/delete")
def delete_record(
    request: Request, record_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    rw.delete_curated(store, principal, record_id)
    deleted = flash_message(N_("Record %(id)s deleted."), id=record_id)
    return redirect("/agency/records", request, deleted)
