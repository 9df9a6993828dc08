"""Agency pages for webhooks: list and add, one webhook with its delivery log, enable or
disable, rotate the secret, retry what was given up, delete. The rules are those of the JSON
API (services/webhooks.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from search_api.deps import SettingsDep, StoreDep
from search_api.domain.i18n import N_
from search_api.errors import TradepointError
from search_api.services import webhooks as wh
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import Principal
from search_api.web.agency.session import Form, Who, flash_message, redirect, render, to_signin

router = APIRouter(prefix="/agency", include_in_schema=False)

WebhookId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _list_page(
    request: Request,
    principal: Principal,
    store: Store,
    *,
    form: dict[str, Any] | None = None,
    status: int = 200,
    error: str | None = None,
) -> Response:
    ctx = {
        "principal": principal,
        "hooks": wh.list_for(store, principal),
        "events": wh.EVENTS,
        "form": form or {"events": list(wh.EVENTS)},
        "error": error,
    }
    return render(request, "webhooks.html", ctx, status=status)


def _hook_page(
    request: Request,
    principal: Principal,
    store: Store,
    webhook_id: WebhookId,
    *,
    secret: str | None = None,
) -> Response:
    ctx = {
        "principal": principal,
        "hook": wh.get(store, principal, webhook_id),
        "deliveries": wh.deliveries(store, principal, webhook_id, limit=50),
        "secret": secret,
    }
    return render(request, "webhook.html", ctx)


@router.get("/webhooks", response_class=HTMLResponse)
def my_webhooks(request: Request, principal: Who, store: StoreDep) -> Response:
    if principal is None:
        return to_signin()
    return _list_page(request, principal, store)


@router.post("/webhooks", response_class=HTMLResponse)
def add_webhook(
    request: Request, form: Form, principal: Who, store: StoreDep, settings: SettingsDep
) -> Response:
    if principal is None:
        return to_signin()
    values = {
        "url": str(form.get("url") or "").strip(),
        "description": str(form.get("description") or "").strip() or None,
        "search": str(form.get("search") or "").strip(),
        "events": [str(e) for e in form.getlist("events")],
    }
    try:
        body = wh.WebhookIn.model_validate(values)
        created = wh.create(settings, store, principal, body)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
        return _list_page(request, principal, store, form=values, status=422, error=message)
    except TradepointError as exc:
        return _list_page(
            request, principal, store, form=values, status=exc.status_code, error=exc.message
        )
    return _hook_page(request, principal, store, created["id"], secret=created["secret"])


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
def webhook_page(
    request: Request, webhook_id: WebhookId, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    return _hook_page(request, principal, store, webhook_id)


def _patch(
    settings: Settings, store: Store, principal: Principal, webhook_id: WebhookId, **values: Any
) -> dict[str, Any]:
    return wh.update(settings, store, principal, webhook_id, wh.WebhookPatch(**values))


@router.post("/webhooks/{webhook_id}/enable")
def enable_webhook(
    request: Request,
    webhook_id: WebhookId,
    form: Form,
    principal: Who,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    if principal is None:
        return to_signin()
    on = form.get("enabled") == "1"
    _patch(settings, store, principal, webhook_id, enabled=on)
    flash = flash_message(N_("Webhook enabled.") if on else N_("Webhook disabled."))
    return redirect(f"/agency/webhooks/{webhook_id}", request, flash)


@router.post("/webhooks/{webhook_id}/rotate", response_class=HTMLResponse)
def rotate_secret(
    request: Request,
    webhook_id: WebhookId,
    form: Form,
    principal: Who,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    if principal is None:
        return to_signin()
    out = _patch(settings, store, principal, webhook_id, rotate_secret=True)
    return _hook_page(request, principal, store, webhook_id, secret=out["secret"])


@router.post("/webhooks/{webhook_id}/retry")
def retry_webhook(
    request: Request, webhook_id: WebhookId, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    n = wh.retry_failed(store, principal, webhook_id)
    return redirect(
        f"/agency/webhooks/{webhook_id}",
        request,
        flash_message(N_("%(n)s deliveries queued again."), n=n),
    )


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(
    request: Request, webhook_id: WebhookId, form: Form, principal: Who, store: StoreDep
) -> Response:
    if principal is None:
        return to_signin()
    wh.remove(store, principal, webhook_id)
    return redirect("/agency/webhooks", request, flash_message(N_("Webhook deleted.")))
