"""Web pages for agencies, continued: their curated records (list, add, edit, delete).

Same session, CSRF token and rules as the source pages in `web_agency.py`; the forms go through
`record_form.py` and the JSON API's functions (routers/records_write.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from search_api.domain.i18n import translator
from search_api.errors import TradepointError
from search_api.record_form import (
    KIND_FIELDS,
    fields_of,
    form_values,
    posted_values,
    record_from_form,
)
from search_api.routers import records_write as rw
from search_api.routers import sources as src
from search_api.store.keys import Principal
from search_api.web_agency import Form, StoreDep, Who, _redirect, _to_signin, render

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
) -> HTMLResponse:
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
        return _to_signin()
    records = store.list_records(rw.curated_source_id(principal.name))
    return render(request, "records.html", {"principal": principal, "records": records})


def _kind(value: Any) -> str:
    kind = str(value or "")
    if kind not in KIND_FIELDS:
        raise src.invalid(f"kind: one of {', '.join(KIND_FIELDS)}")
    return kind


@router.get("/records/new", response_class=HTMLResponse)
def new_record_form(request: Request, principal: Who, kind: str = "finance") -> Response:
    if principal is None:
        return _to_signin()
    return _record_form(request, principal, _kind(kind), {})


@router.post("/records/new", response_class=HTMLResponse)
def add_record(request: Request, form: Form, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return _to_signin()
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
    return _redirect(f"/records/{record.id}", request)


@router.get("/records/{record_id}/edit", response_class=HTMLResponse)
def edit_record_form(request: Request, record_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return _to_signin()
    record = rw.editable_record(store, principal, record_id)
    values = form_values(record.model_dump(mode="json", exclude_none=True))
    return _record_form(request, principal, record.kind, values, record_id=record_id)


@router.post("/records/{record_id}/edit", response_class=HTMLResponse)
def save_record(
    request: Request, record_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return _to_signin()
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
    return _redirect(f"/records/{record_id}", request)


@router.post("/records/{record_id}/delete")
def delete_record(
    request: Request, record_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return _to_signin()
    rw.delete_curated(store, principal, record_id)
    _ = translator(request)
    return _redirect("/agency/records", request, _("Record %(id)s deleted.", id=record_id))
