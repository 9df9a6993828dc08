"""Subscriptions over the JSON API (the rules are in services/subscriptions.py).

`POST /api/v1/subscriptions` stores a pending subscription and emails a confirmation link; the
response never contains the token. The token's owner reads and erases the subscription with
`GET|DELETE /api/v1/subscriptions/{token}`; the pages the email links to are in web/.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from search_api.deps import PRIVATE_HEADERS, AnswerLanguage, BackendDep, SettingsDep, StoreDep
from search_api.services.subscriptions import (
    SubscriptionIn,
    erase,
    owned,
    pending_reply,
    search_notices,
    subscribe,
    view,
)

router = APIRouter(tags=["subscriptions"])


@router.post(
    "/api/v1/subscriptions",
    status_code=202,
    summary="Subscribe an email address to a saved search (sends a confirmation email)",
)
def create_subscription(
    request: Request,
    body: SubscriptionIn,
    store: StoreDep,
    settings: SettingsDep,
    backend: BackendDep,
    lang: AnswerLanguage,
) -> dict[str, Any]:
    client = request.client.host if request.client else None
    sub = subscribe(settings, store, body, client=client)
    return pending_reply(sub, search_notices(backend, sub, lang), lang)


@router.get("/api/v1/subscriptions/{token}", summary="A subscription, seen by its owner")
def get_subscription(token: str, store: StoreDep, settings: SettingsDep) -> Response:
    content = jsonable_encoder(view(settings, store, owned(store, token)))
    return JSONResponse(content, headers=PRIVATE_HEADERS)


@router.delete(
    "/api/v1/subscriptions/{token}",
    status_code=204,
    summary="Erase a subscription, its address and its history",
)
def delete_subscription(token: str, store: StoreDep) -> Response:
    erase(store, token)
    return Response(status_code=204)
