"""Agency pages for sources: list, add (a form built from the format's model, or YAML),
preview, edit, crawl now, remove (after a confirmation page).

The pages call the same services as the JSON API (services/sources.py, services/crawls.py), so
the rules on ownership and validation are one set.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from search_api.deps import SettingsDep, StoreDep
from search_api.domain.i18n import N_
from search_api.domain.records import RECORD_MODELS
from search_api.domain.source_form import (
    FieldError,
    FormProblems,
    form_fields,
    form_values,
    source_from_form,
    validate_form_source,
)
from search_api.domain.sources import SourceSpec, missing_secrets, source_formats
from search_api.domain.yaml_input import YamlInputError, load_yaml
from search_api.errors import Conflict, InvalidBody, TradepointError
from search_api.services import sources as src
from search_api.services.access import check_owner
from search_api.services.crawls import start_crawl
from search_api.services.health import run_dict, source_health
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import Principal
from search_api.web.agency.forms import RECORD_FIELD_LABELS
from search_api.web.agency.session import Form, Who, flash_message, redirect, render, to_signin
from search_api.web.agency.source_views import (
    FORMAT_HELP,
    cause_text,
    errors_from_message,
    explain,
    fmt_utc,
    preview_table,
    preview_warnings,
)
from search_api.web.i18n import translator

router = APIRouter(prefix="/agency", include_in_schema=False)

ALREADY_RUNNING = N_(
    "This source is already running (run %(run)s, since %(since)s); reload to follow it."
)

# A source is a few hundred bytes; a form twice the size of the longest real one is an error.
SOURCE_MAX_BYTES = 64_000

NEW_SOURCE_YAML = """\
id: ke_example_fairs
name: Example fair calendar
kind: fair
format: schema_org
start_urls:
  - https://example.org/fairs/
follow: {allow: ["/fairs/"], max_pages: 100}
defaults: {}
min_items: 1
enabled: true
"""


@router.get("/sources", response_class=HTMLResponse)
def my_sources(request: Request, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    specs = [s for s in store.list_sources() if principal.is_admin or s.owner == principal.name]
    _ = translator(request)
    rows = [{"spec": s, "health": _health(store, s, _)} for s in specs]
    return render(request, "sources.html", {"principal": principal, "rows": rows})


def _health(store: Store, spec: SourceSpec, _: Any) -> dict[str, Any]:
    # A source lacking a secret is never scheduled: say so where its health is shown.
    health = {**source_health(store, spec.id), "missing_secrets": missing_secrets(spec)}
    last_error = health.get("last_error")
    if last_error:
        health["last_error"] = {**last_error, "cause_text": cause_text(last_error.get("cause"), _)}
    return health


def _yaml_form(
    request: Request,
    principal: Principal,
    text: str,
    *,
    source_id: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = {"principal": principal, "text": text, "source_id": source_id, "mode": "yaml", **extra}
    return render(request, "source_yaml.html", ctx, status=status)


def _fields_form(
    request: Request,
    principal: Principal,
    fmt: str,
    kind: str,
    values: dict[str, Any],
    *,
    source_id: str | None = None,
    status: int = 200,
    errors: list[FieldError] | None = None,
    **extra: Any,
) -> Response:
    """The form built from the format's model, with each error next to its field."""
    _ = translator(request)
    fields = form_fields(fmt, kind)
    by_field: dict[str, list[str]] = {}
    for err in errors or []:
        by_field.setdefault(err.field, []).append(explain(err, _))
    general = by_field.pop("", [])
    ctx = {
        "principal": principal,
        "source_id": source_id,
        "fmt": fmt,
        "kind": kind,
        "fields": fields,
        "values": values,
        "field_errors": by_field,
        "form_errors": general,
        "field_labels": {f.name: f.label for f in fields},
        "record_labels": RECORD_FIELD_LABELS.get(kind, {}),
        "mode": "form",
        **extra,
    }
    return render(request, "source_form.html", ctx, status=status)


def _choose_format(request: Request, principal: Principal, **extra: Any) -> Response:
    formats = source_formats()
    ctx = {
        "principal": principal,
        "formats": [(name, FORMAT_HELP.get(name, f.reads)) for name, f in formats.items()],
        "kinds": list(RECORD_MODELS),
        **extra,
    }
    return render(request, "source_new.html", ctx)


def _parse_yaml(text: str) -> Any:
    try:
        return load_yaml(text, max_bytes=SOURCE_MAX_BYTES)
    except YamlInputError as exc:
        raise InvalidBody(f"not valid YAML: {exc}") from exc


def _starting_values(fmt: str, kind: str) -> dict[str, Any]:
    return {"format": fmt, "kind": kind, "min_items": 1, "enabled": True}


@router.get("/sources/new", response_class=HTMLResponse)
def new_source_form(
    request: Request, principal: Who, format: str = "", kind: str = "", mode: str = ""
) -> Response:
    if principal is None:
        return to_signin()
    if mode == "yaml":
        return _yaml_form(request, principal, NEW_SOURCE_YAML)
    if format in source_formats() and kind in RECORD_MODELS:
        return _fields_form(request, principal, format, kind, _starting_values(format, kind))
    return _choose_format(request, principal)


@router.post("/sources/new", response_class=HTMLResponse)
def add_source(
    request: Request, form: Form, principal: Who, store: StoreDep, settings: SettingsDep
) -> Response:
    if principal is None:
        return to_signin()
    return _save_source(request, form, principal, store, settings, None)


@router.post("/sources/{source_id}/edit", response_class=HTMLResponse)
def edit_source(
    request: Request,
    source_id: str,
    form: Form,
    principal: Who,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    if principal is None:
        return to_signin()
    return _save_source(request, form, principal, store, settings, source_id)


def _save_source(
    request: Request,
    form: FormData,
    principal: Principal,
    store: Store,
    settings: Settings,
    source_id: str | None,
) -> Response:
    """Preview (writes nothing) or save, as the pressed button says; errors re-show the form.
    A form with `spec` is the YAML one; any other is the form built from the format's model."""
    if "spec" in form:
        return _save_yaml(request, form, principal, store, settings, source_id)
    fmt, kind = str(form.get("format") or ""), str(form.get("kind") or "")
    if fmt not in source_formats() or kind not in RECORD_MODELS:
        return _choose_format(
            request, principal, error=translator(request)("Choose a format and a kind.")
        )
    values: dict[str, Any] = {k: form.get(k) for k in form if k != "csrf_token"}
    values["defaults.sectors"] = [str(v) for v in form.getlist("defaults.sectors")]
    names = [f.name for f in form_fields(fmt, kind)]

    def again(errors: list[FieldError], status: int = 422, **extra: Any) -> Response:
        return _fields_form(
            request, principal, fmt, kind, values, source_id=source_id, status=status,
            errors=errors, **extra,
        )  # fmt: skip

    try:
        data, problems = source_from_form(form, form.getlist)
    except FormProblems as exc:
        return again(exc.errors)
    if source_id:
        data["id"] = source_id
    problems = validate_form_source(data, names, problems)
    if problems:
        return again(problems)
    try:
        if form.get("action") == "preview":
            spec = src.check_new_owner(principal, src.validate_spec(data))
            preview = src.preview_source(settings, spec)
            return again([], status=200, **_preview_context(request, settings, spec, preview))
        if source_id:
            spec = src.update_source(store, principal, source_id, data, replace=True)
        else:
            spec = src.create_source(store, principal, data)
    except TradepointError as exc:
        return again(errors_from_message(exc.message, names), status=exc.status_code)
    saved = flash_message(N_("Source %(id)s saved."), id=spec.id)
    return redirect(f"/agency/sources/{spec.id}", request, saved)


def _preview_context(
    request: Request, settings: Settings, spec: SourceSpec, preview: dict[str, Any]
) -> dict[str, Any]:
    _ = translator(request)
    return {
        "preview": preview,
        "table": preview_table(preview, spec.kind),
        "preview_warnings": preview_warnings(
            preview, spec.min_items, settings.preview_max_pages, _
        ),
    }


def _save_yaml(
    request: Request,
    form: FormData,
    principal: Principal,
    store: Store,
    settings: Settings,
    source_id: str | None,
) -> Response:
    text = str(form.get("spec") or "")
    try:
        data = _parse_yaml(text)
        if form.get("action") == "preview":
            if isinstance(data, dict) and source_id:
                data = {**data, "id": source_id}
            spec = src.check_new_owner(principal, src.validate_spec(data))
            preview = src.preview_source(settings, spec)
            return _yaml_form(
                request,
                principal,
                text,
                source_id=source_id,
                **_preview_context(request, settings, spec, preview),
            )
        if source_id:
            spec = src.update_source(store, principal, source_id, data, replace=True)
        else:
            spec = src.create_source(store, principal, data)
    except TradepointError as exc:
        return _yaml_form(
            request, principal, text, source_id=source_id, status=exc.status_code, error=exc.message
        )
    saved = flash_message(N_("Source %(id)s saved."), id=spec.id)
    return redirect(f"/agency/sources/{spec.id}", request, saved)


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, source_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    spec = store.get_source(source_id)
    _ = translator(request)
    health = _health(store, spec, _)
    runs = [run_dict(r) for r in store.list_runs(source_id, limit=20)]
    for run in runs:
        run["cause_text"] = cause_text(run.get("cause"), _)
    return render(
        request,
        "source.html",
        {
            "principal": principal,
            "spec": spec,
            "yaml": yaml.safe_dump(
                spec.model_dump(mode="json", exclude_none=True), sort_keys=False
            ),
            "health": health,
            "runs": runs,
            "may_edit": principal.may_edit(spec.owner),
        },
    )


@router.get("/sources/{source_id}/edit", response_class=HTMLResponse)
def edit_source_form(
    request: Request, source_id: str, principal: Who, store: StoreDep, mode: str = ""
) -> Response:
    if principal is None:
        return to_signin()
    spec = store.get_source(source_id)
    check_owner(principal, spec.owner, f"source {source_id!r}")
    data = spec.model_dump(mode="json", exclude_none=True)
    if mode == "yaml":
        return _yaml_form(
            request, principal, yaml.safe_dump(data, sort_keys=False), source_id=source_id
        )
    if not principal.is_admin:
        data.pop("owner", None)  # set from the signed-in agency
    return _fields_form(
        request, principal, spec.format, spec.kind, form_values(data), source_id=source_id
    )


@router.post("/sources/{source_id}/crawl")
def crawl_now(
    request: Request,
    source_id: str,
    form: Form,
    principal: Who,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    if principal is None:
        return to_signin()
    check_owner(principal, store.get_source(source_id).owner, f"source {source_id!r}")
    try:
        run_id = start_crawl(settings, store, source_id)
    except Conflict as exc:  # already running: say so on the source's page
        if exc.code != "run_in_progress":
            raise
        running = store.running_run(source_id)
        busy = (
            flash_message(
                ALREADY_RUNNING,
                run=running.id,
                since=fmt_utc(running.started_at),
            )
            if running is not None
            else flash_message(N_("This source is already running; reload to follow it."))
        )
        return redirect(f"/agency/sources/{source_id}", request, busy)
    return redirect(
        f"/agency/sources/{source_id}",
        request,
        flash_message(N_("Run %(run)s started; reload to follow it."), run=run_id),
    )


@router.get("/sources/{source_id}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, source_id: str, principal: Who, store: StoreDep) -> Response:
    """Removing is not undone: a page of its own says what goes and what stays."""
    if principal is None:
        return to_signin()
    spec = store.get_source(source_id)
    check_owner(principal, spec.owner, f"source {source_id!r}")
    ctx = {"principal": principal, "spec": spec, "records": store.count_records(source_id)}
    return render(request, "source_delete.html", ctx)


@router.post("/sources/{source_id}/delete")
def delete_source(
    request: Request, source_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    if form.get("confirm") != "yes":  # a form that did not come from the confirmation page
        return RedirectResponse(f"/agency/sources/{source_id}/delete", status_code=303)
    src.delete_source(store, principal, source_id)
    flash = flash_message(N_("Source %(id)s removed; its records stay."), id=source_id)
    return redirect("/agency/sources", request, flash)
