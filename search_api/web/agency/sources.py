"""Agency pages for sources: list, add (YAML, previewed first), edit, crawl now, remove.

The pages call the same services as the JSON API (services/sources.py, services/crawls.py), so
the rules on ownership and validation are one set.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from search_api.deps import SettingsDep, StoreDep
from search_api.domain.sources import SourceSpec, missing_secrets
from search_api.domain.yaml_input import YamlInputError, load_yaml
from search_api.errors import Conflict, InvalidBody, TradepointError
from search_api.services import sources as src
from search_api.services.access import check_owner
from search_api.services.crawls import start_crawl
from search_api.services.health import run_dict, source_health
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import Principal
from search_api.web.agency.session import Form, Who, redirect, render, to_signin
from search_api.web.i18n import translator

router = APIRouter(prefix="/agency", include_in_schema=False)

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
    rows = [{"spec": s, "health": _health(store, s)} for s in specs]
    return render(request, "sources.html", {"principal": principal, "rows": rows})


def _health(store: Store, spec: SourceSpec) -> dict[str, Any]:
    # A source lacking a secret is never scheduled: say so where its health is shown.
    return {**source_health(store, spec.id), "missing_secrets": missing_secrets(spec)}


def _source_form(
    request: Request,
    principal: Principal,
    text: str,
    *,
    source_id: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = {"principal": principal, "text": text, "source_id": source_id, **extra}
    return render(request, "source_form.html", ctx, status=status)


def _parse_yaml(text: str) -> Any:
    try:
        return load_yaml(text, max_bytes=SOURCE_MAX_BYTES)
    except YamlInputError as exc:
        raise InvalidBody(f"not valid YAML: {exc}") from exc


@router.get("/sources/new", response_class=HTMLResponse)
def new_source_form(request: Request, principal: Who) -> Response:
    if principal is None:
        return to_signin()
    return _source_form(request, principal, NEW_SOURCE_YAML)


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
    """Preview (writes nothing) or save, as the pressed button says; errors re-show the form."""
    text = str(form.get("spec") or "")
    try:
        data = _parse_yaml(text)
        if form.get("action") == "preview":
            if isinstance(data, dict) and source_id:
                data = {**data, "id": source_id}
            spec = src.check_new_owner(principal, src.validate_spec(data))
            preview = src.preview_source(settings, spec)
            return _source_form(request, principal, text, source_id=source_id, preview=preview)
        if source_id:
            spec = src.update_source(store, principal, source_id, data, replace=True)
        else:
            spec = src.create_source(store, principal, data)
    except TradepointError as exc:
        return _source_form(
            request, principal, text, source_id=source_id, status=exc.status_code, error=exc.message
        )
    _ = translator(request)
    return redirect(f"/agency/sources/{spec.id}", request, _("Source %(id)s saved.", id=spec.id))


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, source_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    spec = store.get_source(source_id)
    return render(
        request,
        "source.html",
        {
            "principal": principal,
            "spec": spec,
            "yaml": yaml.safe_dump(
                spec.model_dump(mode="json", exclude_none=True), sort_keys=False
            ),
            "health": _health(store, spec),
            "runs": [run_dict(r) for r in store.list_runs(source_id, limit=20)],
            "may_edit": principal.may_edit(spec.owner),
        },
    )


@router.get("/sources/{source_id}/edit", response_class=HTMLResponse)
def edit_source_form(request: Request, source_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    spec = store.get_source(source_id)
    text = yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False)
    return _source_form(request, principal, text, source_id=source_id)


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
        return redirect(f"/agency/sources/{source_id}", request, exc.message)
    _ = translator(request)
    return redirect(
        f"/agency/sources/{source_id}",
        request,
        _("Run %(run)s started; reload to follow it.", run=run_id),
    )


@router.post("/sources/{source_id}/delete")
def delete_source(
    request: Request, source_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    src.delete_source(store, principal, source_id)
    _ = translator(request)
    flash = _("Source %(id)s removed; its records stay.", id=source_id)
    return redirect("/agency/sources", request, flash)
