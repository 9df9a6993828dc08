"""Webhooks: partner systems are told of each change to the records of a saved search.

An agency registers a URL, a search (the parameters of `/search`) and the events it wants
(`record.created`, `record.changed`, `record.withdrawn`). Each matching change of the change
feed (`store/changes.py`) becomes one delivery, POSTed as JSON and signed as the Standard
Webhooks specification says: headers `webhook-id` (the same on every attempt of a delivery),
`webhook-timestamp` (of the attempt) and `webhook-signature` ("v1," + base64 HMAC-SHA256 of
"id.timestamp.body" under the webhook's secret `whsec_...`), signed with the `standardwebhooks`
package.

Delivery is at-least-once: deliveries are rows written with the cursor move (exactly one per
change and webhook), sent, and marked delivered only after a 2xx answer. A failed attempt
(another status, a timeout, a refused connection, a redirect) is retried after
`TRADEPOINT_WEBHOOK_RETRY_BASE_SECONDS`, doubling up to `..._RETRY_MAX_SECONDS`; a webhook
whose every attempt failed for `TRADEPOINT_WEBHOOK_DISABLE_AFTER_DAYS` is disabled, and its
pending deliveries wait (re-enabling it sends them, and what changed meanwhile). A single
delivery that keeps failing while others succeed is given up after the same time (`failed`,
listed in the log; `POST .../deliveries/retry` queues those again).

Matching: a change matches when the record, as it is when the delivery is made (moments after
the change; for a deleted record its last state), is found by the webhook's search, withdrawn
records included. A record that changes so that the search no longer finds it sends nothing:
a full mirror follows `GET /api/v1/changes` instead.

Secrets: a secret is shown once, when the webhook is made (or its secret rotated). It is
stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) under `TRADEPOINT_WEBHOOK_SECRET_KEY`,
by default a key generated once into the data dir: signing needs the secret itself, so a hash
would not do, and a copy of the database alone does not give the secrets away.

The SSRF guard applies: a URL must be https (http too when private hosts are allowed) and
resolve to public addresses, checked when it is registered and again before every attempt.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from standardwebhooks.webhooks import Webhook

from search_api.domain.netguard import pinned, refused_reason
from search_api.domain.records import RECORD_ADAPTER, AnyRecord, stored_record_or_none
from search_api.errors import Conflict, InvalidBody, InvalidParameter, NotFound, TradepointError
from search_api.search.base import SearchQuery
from search_api.search.match import record_matches
from search_api.search.request import LIST_PARAMS, PARAMS, SearchRequest
from search_api.services.access import check_owner
from search_api.services.changes import encode_cursor
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import webhooks as hooks
from search_api.store.base import utcnow
from search_api.store.changes import Change
from search_api.store.keys import Principal
from search_api.store.leases import Lease
from search_api.store.tables import WebhookDeliveryRow, WebhookRow

log = logging.getLogger(__name__)

EVENTS: tuple[str, ...] = ("record.created", "record.changed", "record.withdrawn")
EVENT_OF_OP = {
    "created": "record.created",
    "changed": "record.changed",
    "withdrawn": "record.withdrawn",
}
SECRET_PREFIX = "whsec_"
CHANGES_BATCH = 500
DUE_BATCH = 200
PARALLEL_ENDPOINTS = 4
LEASE_NAME = "webhooks"
LEASE_SECONDS = 300.0
ROUND_SECONDS = 60.0
"""An endpoint gets at most this long per round (a slow one must not outlast the lease)."""
ERROR_BODY_CHARS = 200
# Not filters: a webhook sends every matching change, whatever order or page.
_NOT_FILTERS = frozenset({"page", "size", "sort"})

EXAMPLE: dict[str, Any] = {
    "url": "https://partner.example.org/hooks/tradepoint",
    "description": "EU coffee rules into our CRM",
    "search": {"kind": ["requirement"], "market": ["EU"], "hs": "0901"},
    "events": ["record.created", "record.changed", "record.withdrawn"],
}


# --------------------------------------------------------------------------- secrets


def _key_file_secret(settings: Settings) -> bytes:
    path = settings.data_dir / "webhook_key"
    if path.exists() and path.read_bytes().strip():
        return path.read_bytes().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip() or key
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def _fernet(settings: Settings) -> Fernet:
    if settings.webhook_secret_key is not None:
        key = settings.webhook_secret_key.get_secret_value().encode()
    else:
        key = _key_file_secret(settings)
    try:
        return Fernet(key)
    except ValueError as exc:
        raise TradepointError(
            "TRADEPOINT_WEBHOOK_SECRET_KEY is not a Fernet key (32 bytes, urlsafe base64)",
            code="bad_configuration",
        ) from exc


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(settings: Settings, secret: str) -> str:
    return _fernet(settings).encrypt(secret.encode()).decode()


def unseal(settings: Settings, sealed: str) -> str:
    try:
        return _fernet(settings).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise TradepointError(
            "cannot decrypt the signing secret: TRADEPOINT_WEBHOOK_SECRET_KEY (or the data "
            "dir's webhook_key) changed since it was made; rotate the webhook's secret",
            code="secret_unreadable",
        ) from None


def sign(secret: str, msg_id: str, at: datetime, body: str) -> str:
    return Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body)


# --------------------------------------------------------------------------- the saved search


def parse_search(value: Any, *, name: str = "search") -> list[tuple[str, str]]:
    """A webhook's search: an object of /search parameters, or a query string (what follows
    `?` in the address of a search), validated like a search; returned as parameter pairs."""
    if value is None or value == "":
        pairs: list[tuple[str, str]] = []
    elif isinstance(value, str):
        text = value.strip()
        if "?" in text:
            text = text.split("?", 1)[1]
        pairs = parse_qsl(text, keep_blank_values=False)
    elif isinstance(value, Mapping):
        pairs = []
        for key, v in value.items():
            values = v if isinstance(v, list | tuple) else [v]
            pairs += [
                (str(key), "true" if x is True else "false" if x is False else str(x))
                for x in values
            ]
    else:
        raise InvalidBody(f"{name}: an object of search parameters, or a query string")
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, v in pairs:
        if key in _NOT_FILTERS:
            continue
        if key not in PARAMS:
            raise InvalidBody(f"{name}.{key}: not a parameter of /search")
        grouped[key].append(v)
    try:
        request = SearchRequest.from_query(grouped)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise InvalidBody(f"{name}.{where}: {err['msg']}") from None
    except InvalidParameter as exc:
        raise InvalidBody(f"{name}.{exc.message}") from None
    return [(k, v) for k, v in request.to_params(records_language="lang") if k not in _NOT_FILTERS]


def search_of(hook: WebhookRow) -> dict[str, Any]:
    """The stored search as an object: lists for the parameters that repeat."""
    out: dict[str, Any] = {}
    for key, value in hook.search.get("params", []):
        if key in LIST_PARAMS:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def query_of(hook: WebhookRow) -> SearchQuery:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in hook.search.get("params", []):
        grouped[key].append(value)
    # Withdrawn records too: a withdrawal is an event partners ask for.
    return SearchRequest.from_query(grouped).to_query(include_withdrawn=True, facets=False)


# --------------------------------------------------------------------------- registering


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": EXAMPLE})

    url: str = Field(..., max_length=2000, description="https URL that receives the POSTs")
    description: str | None = Field(None, max_length=500)
    search: dict[str, Any] | str = Field(
        default_factory=dict,
        description="Parameters of /search (an object, or a query string): which records",
    )
    events: list[str] = Field(default_factory=lambda: list(EVENTS))

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        return check_events(value)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=500)
    search: dict[str, Any] | str | None = None
    events: list[str] | None = None
    enabled: bool | None = None
    rotate_secret: bool = Field(False, description="true: a new secret, shown in the answer once")

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_events(value)


def check_events(value: Iterable[str]) -> list[str]:
    out = list(dict.fromkeys(value))
    if not out:
        raise ValueError(f"give at least one of {', '.join(EVENTS)}")
    for event in out:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; use {', '.join(EVENTS)}")
    return out


def check_url(settings: Settings, url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.allow_private_hosts else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidBody(f"url: must be an {' or '.join(allowed)} URL with a host")
    if parts.username or parts.password:
        raise InvalidBody("url: must not hold credentials; verify the signature instead")
    if not settings.allow_private_hosts:
        reason = refused_reason(url)
        if reason:
            raise InvalidBody(f"url: refused, {reason}")
    return url


def _owned(store: Store, principal: Principal, webhook_id: int) -> WebhookRow:
    hook = hooks.get_webhook(store, webhook_id)
    if hook is None:
        raise NotFound(f"webhook {webhook_id} not found")
    check_owner(principal, hook.owner, f"webhook {webhook_id}")
    return hook


def view(store: Store, hook: WebhookRow) -> dict[str, Any]:
    return {
        "id": hook.id,
        "owner": hook.owner,
        "url": hook.url,
        "description": hook.description,
        "search": search_of(hook),
        "events": list(hook.events),
        "enabled": hook.enabled,
        "disabled_reason": hook.disabled_reason,
        "created_at": hook.created_at,
        "updated_at": hook.updated_at,
        "last_success_at": hook.last_success_at,
        "failing_since": hook.failing_since,
        "cursor": encode_cursor(hook.cursor),
        "deliveries": hooks.delivery_counts(store, hook.id),
    }


def create(settings: Settings, store: Store, principal: Principal, body: WebhookIn) -> dict:
    """Register a webhook; the answer holds its secret, never shown again."""
    if hooks.count_webhooks(store, principal.name) >= settings.webhooks_per_agency:
        raise Conflict(
            f"agency {principal.name!r} has {settings.webhooks_per_agency} webhooks already "
            "(TRADEPOINT_WEBHOOKS_PER_AGENCY); delete one first",
            code="too_many_webhooks",
        )
    url = check_url(settings, body.url)
    params = parse_search(body.search)
    secret = new_secret()
    now = utcnow()
    hook = hooks.create_webhook(
        store,
        owner=principal.name,
        url=url,
        description=body.description,
        search={"params": params},
        events=body.events,
        secret=seal(settings, secret),
        enabled=True,
        # From now on: changes made before the webhook existed are not sent.
        cursor=store.last_change_id(),
        created_at=now,
        updated_at=now,
    )
    return {**view(store, hook), "secret": secret}


def list_for(store: Store, principal: Principal) -> list[dict[str, Any]]:
    owner = None if principal.is_admin else principal.name
    return [view(store, h) for h in hooks.list_webhooks(store, owner)]


def get(store: Store, principal: Principal, webhook_id: int) -> dict[str, Any]:
    return view(store, _owned(store, principal, webhook_id))


def update(
    settings: Settings, store: Store, principal: Principal, webhook_id: int, patch: WebhookPatch
) -> dict[str, Any]:
    hook = _owned(store, principal, webhook_id)
    values: dict[str, Any] = {"updated_at": utcnow()}
    given = patch.model_fields_set
    if "url" in given and patch.url is not None:
        values["url"] = check_url(settings, patch.url)
    if "description" in given:
        values["description"] = patch.description
    if "search" in given:
        values["search"] = {"params": parse_search(patch.search)}
    if "events" in given and patch.events is not None:
        values["events"] = patch.events
    if "enabled" in given and patch.enabled is not None:
        values["enabled"] = patch.enabled
        if patch.enabled:
            # A fresh start: the failure clock restarts, and pending deliveries go now.
            values.update(disabled_reason=None, failing_since=None)
        elif hook.enabled:
            values["disabled_reason"] = f"disabled by {principal.name}"
    secret = None
    if patch.rotate_secret:
        secret = new_secret()
        values["secret"] = seal(settings, secret)
    updated = hooks.update_webhook(store, hook.id, **values)
    assert updated is not None
    if patch.enabled:
        _requeue_now(store, hook.id)
    out = view(store, updated)
    if secret is not None:
        out["secret"] = secret
    return out


def _requeue_now(store: Store, webhook_id: int) -> None:
    now = utcnow()
    with store.session() as s, s.begin():
        s.query(WebhookDeliveryRow).filter(
            WebhookDeliveryRow.webhook_id == webhook_id, WebhookDeliveryRow.status == "pending"
        ).update({"next_attempt_at": now})


def remove(store: Store, principal: Principal, webhook_id: int) -> None:
    hooks.delete_webhook(store, _owned(store, principal, webhook_id).id)


def delivery_view(d: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "id": d.msg_id,
        "event": d.event,
        "record_id": d.record_id,
        "cursor": encode_cursor(d.change_id),
        "status": d.status,
        "attempts": d.attempts,
        "queued_at": d.created_at,
        "last_attempt_at": d.last_attempt_at,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
    }


def deliveries(
    store: Store,
    principal: Principal,
    webhook_id: int,
    *,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    hook = _owned(store, principal, webhook_id)
    return [
        delivery_view(d) for d in hooks.deliveries_of(store, hook.id, status=status, limit=limit)
    ]


def retry_failed(store: Store, principal: Principal, webhook_id: int) -> int:
    hook = _owned(store, principal, webhook_id)
    return hooks.retry_failed(store, hook.id, utcnow())


# --------------------------------------------------------------------------- changes -> deliveries


def _payload(change: Change, event: str, record_json: str, now: datetime) -> str:
    data = {
        "cursor": encode_cursor(change.id),
        "record_id": change.record_id,
        "kind": change.kind,
        "version": change.version,
        "changed_at": change.changed_at.isoformat() + "Z",
        "fields": list(change.fields),
        "deleted": change.tombstone is not None,
        "record": orjson.Fragment(record_json),
    }
    body = {"type": event, "timestamp": now.isoformat() + "Z", "data": data}
    return orjson.dumps(body).decode()


def dispatch(store: Store, now: datetime | None = None) -> int:
    """Turn the changes after each enabled webhook's cursor into its deliveries; returns how
    many deliveries were made. Safe to run in several processes at once."""
    now = now or utcnow()
    made = 0
    parsed: dict[tuple[str, str], AnyRecord] = {}
    for hook in hooks.list_webhooks(store):
        if not hook.enabled:
            continue  # its cursor waits: re-enabled, it sends what changed meanwhile
        query = query_of(hook)
        cursor = hook.cursor
        while True:
            changes = store.changes_after(cursor, CHANGES_BATCH)
            if not changes:
                break
            current = store.get_record_json([c.record_id for c in changes])
            rows = []
            for c in changes:
                event = EVENT_OF_OP[c.op]
                stored = current.get(c.record_id)
                data = stored or c.tombstone
                if event not in hook.events or data is None:
                    continue  # deleted since: its own withdrawal follows in the feed
                key = (c.record_id, data)
                record = parsed.get(key)
                if record is None:
                    # The store's own JSON is read as stored (migration 0011 cleaned it); a
                    # tombstone from before the cleaning rules is validated and cleaned.
                    if stored:
                        record = stored_record_or_none(stored)
                    else:
                        try:
                            record = RECORD_ADAPTER.validate_json(data)
                        except ValidationError:
                            record = None
                    if record is None:
                        continue  # no longer valid: left out, as everywhere (one never blocks)
                    parsed[key] = record
                if not record_matches(query, record):
                    continue
                rows.append(
                    {
                        "webhook_id": hook.id,
                        "change_id": c.id,
                        "msg_id": f"msg_{hook.id}_{c.id}",
                        "event": event,
                        "record_id": c.record_id,
                        "body": _payload(c, event, data, now),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
            if not hooks.add_deliveries(store, hook.id, cursor, changes[-1].id, rows):
                break  # another process moved this webhook on
            made += len(rows)
            cursor = changes[-1].id
            if len(changes) < CHANGES_BATCH:
                break
            if len(parsed) > 20_000:
                parsed.clear()
    return made


# --------------------------------------------------------------------------- sending


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """Delay after the `attempts`-th failed attempt: the base, doubled each time, capped."""
    seconds = settings.webhook_retry_base_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, settings.webhook_retry_max_seconds))


def _attempt(
    settings: Settings, client: httpx.Client, hook: WebhookRow, d: WebhookDeliveryRow
) -> tuple[int | None, str | None]:
    """POST one delivery; (HTTP status, error) where error is None on success."""
    target, extensions, host_header = hook.url, {}, {}
    if not settings.allow_private_hosts:
        found = pinned(hook.url)
        if isinstance(found, str):
            return None, f"refused: {found}"
        # Sent to the address just checked; the name goes in Host and the TLS server name.
        target, host = found
        extensions, host_header = {"sni_hostname": host}, {"host": urlsplit(hook.url).netloc}
    try:
        secret = unseal(settings, hook.secret)
    except TradepointError as exc:
        return None, exc.message
    at = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": settings.full_user_agent,
        "webhook-id": d.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(secret, d.msg_id, at, d.body),
        **host_header,
    }
    try:
        r = client.post(target, content=d.body.encode(), headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        return None, f"timed out after {settings.webhook_timeout_seconds:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= r.status_code < 300:
        return r.status_code, None
    if 300 <= r.status_code < 400:
        return r.status_code, f"HTTP {r.status_code}: redirects are not followed"
    text = r.text[:ERROR_BODY_CHARS].strip()
    return r.status_code, f"HTTP {r.status_code}" + (f": {text}" if text else "")


def _endpoint_down(status: int | None) -> bool:
    """No answer, a server error, or "slow down": later deliveries would fail alike."""
    return status is None or status >= 500 or status in (408, 429)


def _send_one_endpoint(
    settings: Settings,
    store: Store,
    client: httpx.Client,
    hook: WebhookRow,
    due: list[WebhookDeliveryRow],
) -> tuple[int, int]:
    """Send a webhook's due deliveries in order. When the endpoint is down the rest wait for
    their next attempt rather than hammering it; a delivery it refuses (4xx) does not hold
    up the others."""
    sent = failed = 0
    limit = timedelta(days=settings.webhook_disable_after_days)
    stop_at = time.monotonic() + ROUND_SECONDS
    for d in due:
        if time.monotonic() > stop_at:
            break  # the rest are still due: the next round sends them
        status, error = _attempt(settings, client, hook, d)
        now = utcnow()
        if error is None:
            hooks.record_attempt(
                store, d.id, status="delivered", at=now, http_status=status, error=None
            )
            hooks.update_webhook(store, hook.id, failing_since=None, last_success_at=now)
            hook.failing_since, hook.last_success_at = None, now
            sent += 1
            continue
        failed += 1
        # Given up: failing this long while the endpoint took other deliveries since.
        give_up = (
            now - d.created_at >= limit
            and hook.last_success_at is not None
            and hook.last_success_at > d.created_at
        )
        hooks.record_attempt(
            store,
            d.id,
            status="failed" if give_up else "pending",
            at=now,
            http_status=status,
            error=error,
            next_attempt_at=now + retry_delay(settings, d.attempts + 1),
        )
        log.warning(
            "webhook %s: delivery %s failed (attempt %d): %s",
            hook.id,
            d.msg_id,
            d.attempts + 1,
            error,
        )
        since = hook.failing_since or now
        values: dict[str, Any] = {"failing_since": since}
        if now - since >= limit:
            days = f"{settings.webhook_disable_after_days:g}"
            values.update(
                enabled=False,
                disabled_reason=f"every delivery failed for {days} days (last: {error})"[:500],
            )
            log.error("webhook %s disabled: failing since %s", hook.id, since.isoformat())
        hooks.update_webhook(store, hook.id, **values)
        hook.failing_since = since
        if "enabled" in values or _endpoint_down(status):
            break
    return sent, failed


def deliver_due(
    settings: Settings, store: Store, *, client: httpx.Client | None = None
) -> tuple[int, int]:
    """Send the deliveries that are due; returns (delivered, failed attempts)."""
    due = hooks.due_deliveries(store, utcnow(), DUE_BATCH)
    if not due:
        return 0, 0
    by_hook: dict[int, list[WebhookDeliveryRow]] = defaultdict(list)
    for d in due:
        by_hook[d.webhook_id].append(d)
    own = client is None
    client = client or httpx.Client(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False
    )
    try:
        with ThreadPoolExecutor(min(PARALLEL_ENDPOINTS, len(by_hook))) as pool:
            futures = [
                pool.submit(_send_one_endpoint, settings, store, client, hook, rows)
                for webhook_id, rows in by_hook.items()
                if (hook := hooks.get_webhook(store, webhook_id)) is not None and hook.enabled
            ]
            results = [f.result() for f in futures]
    finally:
        if own:
            client.close()
    return sum(r[0] for r in results), sum(r[1] for r in results)


def process(settings: Settings, store: Store, *, client: httpx.Client | None = None) -> int:
    """One round: make deliveries of new changes, send those due. Under a lease, so that of
    several API workers and a scheduler only one sends at a time (no double sends)."""
    lease = Lease(store, LEASE_NAME, seconds=LEASE_SECONDS)
    if not lease.acquire():
        return 0
    try:
        dispatch(store)
        delivered, _ = deliver_due(settings, store, client=client)
        return delivered
    finally:
        lease.release()
