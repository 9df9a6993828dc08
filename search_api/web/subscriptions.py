"""The subscription pages: the subscribe form's answer, and the pages the emails link to
(confirm, manage, unsubscribe, erase). The rules are in services/subscriptions.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from search_api.deps import PRIVATE_HEADERS, BackendDep, SettingsDep, StoreDep
from search_api.errors import InvalidParameter
from search_api.services import subscriptions as subscribing
from search_api.services.subscriptions import SubscriptionIn
from search_api.web.render import page

router = APIRouter(tags=["subscriptions"])

# The form's list fields, by the names the form uses (the API's JSON uses the plural).
FORM_LISTS = {
    "kind": "kind",
    "market": "markets",
    "markets": "markets",
    "sector": "sectors",
    "sectors": "sectors",
    # the records' language (the form's `language` is the emails')
    "lang": "lang",
}


def _page(request: Request, name: str, ctx: dict[str, Any]) -> Response:
    return page(request, f"subscriptions/{name}.html", ctx, headers=PRIVATE_HEADERS)


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "request"
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)


@router.post("/subscriptions", response_class=HTMLResponse, include_in_schema=False)
async def subscribe_form(
    request: Request, store: StoreDep, settings: SettingsDep, backend: BackendDep
) -> Response:
    form = await request.form()
    data: dict[str, Any] = {}
    for key in set(form.keys()):
        values = [str(v).strip() for v in form.getlist(key) if str(v).strip()]
        if key == "reminders":
            # A checkbox: reminders 14 and 3 days before.
            data["reminders"] = bool(values)
        elif key in FORM_LISTS:
            name = FORM_LISTS[key]
            data[name] = data.get(name, []) + values
        elif values:
            data[key] = values[0]
    try:
        body = SubscriptionIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidParameter(_explain(exc)) from None
    client = request.client.host if request.client else None
    sub = subscribing.subscribe(settings, store, body, client=client)
    context = {
        "sub": sub,
        "view": subscribing.view(settings, store, sub),
        "notices": subscribing.search_notices(backend, sub),
    }
    return _page(request, "subscribed", context)


@router.get(
    "/subscriptions/{token}/confirm",
    response_class=HTMLResponse,
    summary="Confirm a subscription (the link in the confirmation email); HTML page",
)
def confirm_page(
    request: Request, token: str, store: StoreDep, backend: BackendDep, settings: SettingsDep
) -> Response:
    sub, notice = subscribing.confirm(store, backend, token)
    view = subscribing.view(settings, store, sub)
    return _page(request, "manage", {"sub": sub, "view": view, "notice": notice})


@router.get("/subscriptions/{token}", response_class=HTMLResponse, include_in_schema=False)
def manage_page(request: Request, token: str, store: StoreDep, settings: SettingsDep) -> Response:
    sub = subscribing.owned(store, token)
    view = subscribing.view(settings, store, sub)
    return _page(request, "manage", {"sub": sub, "view": view, "notice": None})


@router.get(
    "/subscriptions/{token}/unsubscribe",
    response_class=HTMLResponse,
    summary="Unsubscribe page (a button that POSTs to the same URL)",
)
def unsubscribe_page(request: Request, token: str, store: StoreDep) -> Response:
    sub = subscribing.owned(store, token)
    state = "done" if sub.state == "unsubscribed" else "ask"
    return _page(request, "unsubscribe", {"sub": sub, "state": state})


@router.post(
    "/subscriptions/{token}/unsubscribe",
    response_class=HTMLResponse,
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post target)",
)
def unsubscribe_now(request: Request, token: str, store: StoreDep) -> Response:
    sub = subscribing.unsubscribe(store, token)
    return _page(request, "unsubscribe", {"sub": sub, "state": "done"})


@router.post("/subscriptions/{token}/delete", response_class=HTMLResponse, include_in_schema=False)
def delete_page(request: Request, token: str, store: StoreDep) -> Response:
    subscribing.erase(store, token)
    return _page(request, "unsubscribe", {"sub": None, "state": "deleted"})
