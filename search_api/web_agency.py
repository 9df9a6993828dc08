"""Web pages for agencies: sign in with an API key, manage sources, enter curated records.

Plain HTML forms, no JavaScript. A signed session cookie (Starlette's SessionMiddleware) holds
the key's id, never the key. Every form carries a per-session CSRF token checked on POST. The
pages call the same functions as the JSON API (routers/sources.py, routers/records_write.py),
so the rules on ownership and validation are one set.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from search_api.auth import check_owner
from search_api.deps import get_settings, get_store
from search_api.domain.i18n import translator
from search_api.errors import Conflict, Forbidden, TradepointError
from search_api.health import run_dict, source_health
from search_api.routers import sources as src
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import Principal, get_principal, verify_key
from search_api.web import _templates

router = APIRouter(prefix="/agency", include_in_schema=False)

SESSION_MAX_AGE = 8 * 3600
NO_STORE = {"Cache-Control": "no-store"}
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

# --------------------------------------------------------------------------- session


def session_secret(settings: Settings) -> str:
    """The configured secret, else one generated once into DATA_DIR (readable by us only)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = settings.data_dir / "session_secret"
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip() or secret
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


def session_options(settings: Settings) -> dict[str, Any]:
    return {
        "secret_key": session_secret(settings),
        "session_cookie": "tradepoint_session",
        "max_age": SESSION_MAX_AGE,
        # Lax: the cookie never rides on a cross-site POST, a second guard behind the token.
        "same_site": "lax",
        "https_only": settings.base_url.startswith("https://"),
    }


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's; 403 otherwise."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str) and expected) or not (
        hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise Forbidden(
            "this form has expired or did not come from Tradepoint (CSRF check); "
            "reload the page and try again",
            code="csrf_failed",
        )
    return form


def signed_in(request: Request, store: Annotated[Store, Depends(get_store)]) -> Principal | None:
    key_id = request.session.get("key_id")
    return get_principal(store, key_id) if isinstance(key_id, int) else None


Form = Annotated[FormData, Depends(checked_form)]
Who = Annotated[Principal | None, Depends(signed_in)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _to_signin() -> RedirectResponse:
    return RedirectResponse("/agency/signin", status_code=303)


def _redirect(url: str, request: Request, flash: str | None = None) -> RedirectResponse:
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    ctx = {
        "csrf_token": csrf_token(request),
        "flash": request.session.pop("flash", None),
        **context,
    }
    return _templates(request).TemplateResponse(
        request, f"agency/{name}", ctx, status_code=status, headers=NO_STORE
    )


# --------------------------------------------------------------------------- sign in / out


@router.get("", response_class=HTMLResponse)
def agency_home(request: Request, principal: Who) -> Response:
    return _to_signin() if principal is None else RedirectResponse("/agency/sources", 303)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, principal: Who) -> Response:
    return render(request, "signin.html", {"principal": principal})


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, form: Form, store: StoreDep) -> Response:
    _ = translator(request)
    principal = verify_key(store, str(form.get("api_key") or "").strip())
    if principal is None:
        error = _("That key is not valid (or was revoked).")
        return render(request, "signin.html", {"principal": None, "error": error}, status=401)
    # A fresh session on sign-in: nothing set before (a planted token) survives it.
    request.session.clear()
    request.session["key_id"] = principal.key_id
    return _redirect("/agency/sources", request, _("Signed in as %(name)s.", name=principal.name))


@router.post("/signout")
def signout(request: Request, form: Form) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


# --------------------------------------------------------------------------- sources


@router.get("/sources", response_class=HTMLResponse)
def my_sources(request: Request, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return _to_signin()
    specs = [s for s in store.list_sources() if principal.is_admin or s.owner == principal.name]
    rows = [{"spec": s, "health": source_health(store, s.id)} for s in specs]
    return render(request, "sources.html", {"principal": principal, "rows": rows})


def _source_form(
    request: Request,
    principal: Principal,
    text: str,
    *,
    source_id: str | None = None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    ctx = {"principal": principal, "text": text, "source_id": source_id, **extra}
    return render(request, "source_form.html", ctx, status=status)


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise src.invalid(f"not valid YAML: {exc}") from exc


@router.get("/sources/new", response_class=HTMLResponse)
def new_source_form(request: Request, principal: Who) -> Response:
    if principal is None:
        return _to_signin()
    return _source_form(request, principal, NEW_SOURCE_YAML)


@router.post("/sources/new", response_class=HTMLResponse)
def add_source(
    request: Request, form: Form, principal: Who, store: StoreDep, settings: SettingsDep
) -> Response:
    if principal is None:
        return _to_signin()
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
        return _to_signin()
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
    return _redirect(f"/agency/sources/{spec.id}", request, _("Source %(id)s saved.", id=spec.id))


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, source_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return _to_signin()
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
            "health": source_health(store, source_id),
            "runs": [run_dict(r) for r in store.list_runs(source_id, limit=20)],
            "may_edit": principal.may_edit(spec.owner),
        },
    )


@router.get("/sources/{source_id}/edit", response_class=HTMLResponse)
def edit_source_form(request: Request, source_id: str, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return _to_signin()
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
        return _to_signin()
    check_owner(principal, store.get_source(source_id).owner, f"source {source_id!r}")
    try:
        run_id = src.start_crawl(settings, store, source_id)
    except Conflict as exc:  # already running: say so on the source's page
        return _redirect(f"/agency/sources/{source_id}", request, exc.message)
    _ = translator(request)
    return _redirect(
        f"/agency/sources/{source_id}",
        request,
        _("Run %(run)s started; reload to follow it.", run=run_id),
    )


@router.post("/sources/{source_id}/delete")
def delete_source(
    request: Request, source_id: str, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return _to_signin()
    src.delete_source(store, principal, source_id)
    _ = translator(request)
    flash = _("Source %(id)s removed; its records stay.", id=source_id)
    return _redirect("/agency/sources", request, flash)
