"""Webhooks over the JSON API (agency or admin key; the rules are in services/webhooks.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response

from search_api.deps import SettingsDep, StoreDep, Writer
from search_api.services import webhooks as wh

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The webhook's id")]

SIGNING = (
    "Each event is POSTed as JSON `{type, timestamp, data: {cursor, record_id, kind, version, "
    "changed_at, fields, deleted, record}}` with the Standard Webhooks headers `webhook-id` "
    "(the same on every attempt), `webhook-timestamp` and `webhook-signature` "
    '("v1," + base64 HMAC-SHA256 of "id.timestamp.body" under the secret). Answer 2xx within '
    "the timeout; anything else is retried with exponential backoff."
)


@router.get("", summary="The caller's webhooks (an admin key: everyone's)")
def list_webhooks(principal: Writer, store: StoreDep) -> list[dict[str, Any]]:
    return wh.list_for(store, principal)


@router.post(
    "",
    status_code=201,
    summary="Register a webhook; the answer holds its signing secret, shown only this once",
    description=SIGNING,
)
def create_webhook(
    body: Annotated[wh.WebhookIn, Body(examples=[wh.EXAMPLE])],
    principal: Writer,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    out = wh.create(settings, store, principal, body)
    response.headers["Location"] = f"/api/v1/webhooks/{out['id']}"
    response.headers["Cache-Control"] = "no-store"
    return out


@router.get("/{webhook_id}", summary="One webhook, with counts of its deliveries")
def get_webhook(webhook_id: WebhookId, principal: Writer, store: StoreDep) -> dict[str, Any]:
    return wh.get(store, principal, webhook_id)


@router.patch(
    "/{webhook_id}",
    summary="Change a webhook (url, description, search, events, enabled, rotate_secret)",
)
def patch_webhook(
    webhook_id: WebhookId,
    patch: Annotated[
        wh.WebhookPatch,
        Body(examples=[{"enabled": True}, {"events": ["record.withdrawn"]}]),
    ],
    principal: Writer,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    return wh.update(settings, store, principal, webhook_id, patch)


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook and its log")
def delete_webhook(webhook_id: WebhookId, principal: Writer, store: StoreDep) -> Response:
    wh.remove(store, principal, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", summary="The delivery log, newest first")
def list_deliveries(
    webhook_id: WebhookId,
    principal: Writer,
    store: StoreDep,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return wh.deliveries(store, principal, webhook_id, status=status, limit=limit)


@router.post(
    "/{webhook_id}/deliveries/retry",
    summary="Queue the deliveries given up on (status failed) again",
)
def retry_deliveries(webhook_id: WebhookId, principal: Writer, store: StoreDep) -> dict[str, int]:
    return {"queued": wh.retry_failed(store, principal, webhook_id)}
