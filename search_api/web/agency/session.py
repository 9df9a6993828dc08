"""Agency sessions: sign in with an API key, sign out, and what every agency page shares.

Plain HTML forms, no JavaScript. A signed session cookie (Starlette's SessionMiddleware) holds
a session token, never the key; the session itself lives on the server (store/sessions.py), so
signing out ends it even for a copy of the cookie. Every form carries a per-session CSRF token
checked on POST.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from search_api.deps import StoreDep, session_of
from search_api.domain.i18n import N_
from search_api.errors import Forbidden
from search_api.settings import Settings
from search_api.store.keys import Principal, verify_key
from search_api.store.sessions import end_session, start_session
from search_api.web.agency.source_views import fmt_utc
from search_api.web.i18n import translator
from search_api.web.render import page

router = APIRouter(prefix="/agency", include_in_schema=False)

SESSION_MAX_AGE = 8 * 3600
NO_STORE = {"Cache-Control": "no-store"}


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


def signed_in(request: Request, store: StoreDep) -> Principal | None:
    return session_of(request, store)


Form = Annotated[FormData, Depends(checked_form)]
Who = Annotated[Principal | None, Depends(signed_in)]


def to_signin() -> RedirectResponse:
    return RedirectResponse("/agency/signin", status_code=303)


def flash_message(message: str, **variables: str | int) -> dict[str, Any]:
    """A message for the next page (an English msgid marked with N_, and its variables),
    translated when that page is shown: in the language of the page it appears on, which
    need not be the language of the request that made it (a sign-in posted without the
    page's language, a language switched in between)."""
    return {"message": message, "variables": variables}


def redirect(url: str, request: Request, flash: dict[str, Any] | None = None) -> RedirectResponse:
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)


def _flash_text(request: Request, pending: Any) -> str | None:
    """The pending flash message in this page's language."""
    if isinstance(pending, dict) and isinstance(pending.get("message"), str):
        variables = pending.get("variables") or {}
        return translator(request)(pending["message"], **variables)
    return pending if isinstance(pending, str) else None  # a session from before this change


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    ctx = {
        "csrf_token": csrf_token(request),
        "fmt_utc": fmt_utc,
        "flash": _flash_text(request, request.session.pop("flash", None)),
        **context,
    }
    return page(request, f"agency/{name}", ctx, status=status, headers=NO_STORE)


# --------------------------------------------------------------------------- sign in / out


@router.get("", response_class=HTMLResponse)
def agency_home(request: Request, principal: Who) -> Response:
    return to_signin() if principal is None else RedirectResponse("/agency/sources", 303)


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
    # A fresh session on sign-in: nothing set before (a planted token) survives it, and a
    # session this browser had before ends.
    _end(request, store)
    request.session["sid"] = start_session(store, principal.key_id, SESSION_MAX_AGE)
    signed = flash_message(N_("Signed in as %(name)s."), name=principal.label)
    return redirect("/agency/sources", request, signed)


@router.post("/signout")
def signout(request: Request, form: Form, store: StoreDep) -> Response:
    _end(request, store)
    return RedirectResponse("/", status_code=303)


def _end(request: Request, store: StoreDep) -> None:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        end_session(store, sid)
    request.session.clear()
