"""Subscriptions: a saved search emailed as a digest of changes, and read as calendar/Atom feeds.

Double opt-in: `POST /api/v1/subscriptions` stores a pending subscription and emails a
confirmation link; nothing else is sent until that link is opened. The response never contains
the token, so nobody can subscribe (or read the subscriptions of) an address they cannot read.

The token in the link is the owner's key: `GET /subscriptions/{token}` (page) and
`GET|DELETE /api/v1/subscriptions/{token}` show and erase the subscription;
`/subscriptions/{token}/unsubscribe` is the one-click unsubscribe (GET shows a button, POST
unsubscribes: link scanners that follow every GET must not unsubscribe anyone).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ConfigDict, Field, ValidationError, field_validator

from search_api.deps import get_backend, get_settings, get_store
from search_api.domain.records import AnyRecord
from search_api.domain.saved_search import SavedSearch
from search_api.errors import BadRequest, NotFound
from search_api.mail import (
    MailError,
    build_message,
    describe_search,
    ensure_configured,
    render,
    send_message,
    strings,
)
from search_api.routers.feeds import Gone, collect_records, feed_url, search_page_url
from search_api.search.base import SearchBackend
from search_api.service import MAX_RESULT_WINDOW
from search_api.settings import Settings
from search_api.store import Store
from search_api.store import subscriptions as subs
from search_api.store.base import utcnow
from search_api.store.subscriptions import CONFIRM_WITHIN, Frequency, Language
from search_api.store.tables import SubscriptionRow

router = APIRouter(tags=["subscriptions"])

# Token pages: not cached, not indexed, and the token never leaks to other sites as a Referer.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
FORM_LISTS = ("kind", "markets", "sectors")


class SubscriptionIn(SavedSearch):
    """An email address, a saved search (the fields of `SavedSearch`), frequency and language."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "example": {
                "email": "advisor@example.org",
                "kind": ["fair"],
                "markets": ["DE"],
                "sectors": ["food"],
                "days_ahead": 365,
                "frequency": "weekly",
                "language": "en",
            }
        },
    )

    email: str = Field(..., max_length=254)
    frequency: Frequency = "weekly"
    language: Language = "en"

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return subs.normalise_email(v)

    def saved_search(self) -> SavedSearch:
        return SavedSearch.model_validate(
            self.model_dump(exclude={"email", "frequency", "language"})
        )


# --------------------------------------------------------------------------- helpers


def links(settings: Settings, sub: SubscriptionRow) -> dict[str, str]:
    base = f"{settings.base_url.rstrip('/')}/subscriptions/{sub.token}"
    out = {"manage": base, "unsubscribe": f"{base}/unsubscribe"}
    if sub.state == "pending_confirmation":
        out["confirm"] = f"{base}/confirm"
    if sub.state == "active":
        out["ics"] = feed_url(settings, sub, "ics")
        out["webcal"] = feed_url(settings, sub, "ics", webcal=True)
        out["atom"] = feed_url(settings, sub, "atom")
        out["results"] = search_page_url(settings, sub.saved_search)
    return out


def matching_records(
    store: Store, backend: SearchBackend, search: SavedSearch, today: date
) -> list[AnyRecord]:
    """Records a saved search matches today, read from the system of record (the index only
    says which ones match; versions and fields come from the store, the source of truth)."""
    found = collect_records(backend, search.to_query(today), MAX_RESULT_WINDOW)
    current = store.get_records([r.id for r in found])
    return [current[r.id] for r in found if r.id in current]


def send_confirmation(settings: Settings, sub: SubscriptionRow) -> None:
    t = strings(settings, sub.language)
    urls = links(settings, sub)
    text, html = render(
        settings,
        "confirm",
        sub.language,
        email=sub.email,
        frequency=sub.frequency,
        description=describe_search(settings, sub.saved_search, sub.language),
        confirm_url=urls["confirm"],
        unsubscribe_url=urls["unsubscribe"],
    )
    msg = build_message(
        settings,
        to=sub.email,
        subject=t("confirm_subject"),
        text=text,
        html=html,
        unsubscribe_url=urls["unsubscribe"],
        lang=sub.language,
    )
    send_message(settings, msg)


def _owned(store: Store, token: str) -> SubscriptionRow:
    sub = subs.get_by_token(store, token)
    if sub is None:
        raise NotFound("subscription not found; use the link from your email")
    return sub


def _view(settings: Settings, store: Store, sub: SubscriptionRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "email": sub.email,
        "status": sub.state,
        "frequency": sub.frequency,
        "language": sub.language,
        "search": sub.search,
        "description": describe_search(settings, sub.saved_search, sub.language),
        "created_at": sub.created_at,
        "confirmed_at": sub.confirmed_at,
        "unsubscribed_at": sub.unsubscribed_at,
        "last_digest_at": sub.last_digest_at,
        "links": links(settings, sub),
        "others": [],
    }
    # The owner's other subscriptions, once this one proved the address is theirs.
    if sub.confirmed_at is not None:
        out["others"] = [
            {
                "status": o.state,
                "frequency": o.frequency,
                "description": describe_search(settings, o.saved_search, o.language),
                "manage": links(settings, o)["manage"],
            }
            for o in subs.list_for_email(store, sub.email)
            if o.id != sub.id and o.state == "active"
        ]
    return out


def _subscribe(
    settings: Settings, store: Store, data: dict[str, Any]
) -> tuple[SubscriptionRow, SubscriptionIn]:
    body = SubscriptionIn.model_validate(data)
    ensure_configured(settings)  # refuse before storing an address we cannot write to
    search = body.saved_search()
    search.to_query(date.today())  # the same checks as a search (400 naming the parameter)
    sub = subs.create_subscription(
        store, email=body.email, search=search, frequency=body.frequency, language=body.language
    )
    try:
        send_confirmation(settings, sub)
    except MailError:
        subs.delete_subscription(store, sub.id)
        raise
    return sub, body


def _pending_reply(sub: SubscriptionRow) -> dict[str, Any]:
    return {
        "status": "pending_confirmation",
        "email": sub.email,
        "frequency": sub.frequency,
        "language": sub.language,
        "message": f"A confirmation link was sent to {sub.email}; nothing else is sent "
        "before it is opened.",
    }


# --------------------------------------------------------------------------- JSON API


@router.post(
    "/api/v1/subscriptions",
    status_code=202,
    summary="Subscribe an email address to a saved search (sends a confirmation email)",
)
def create_subscription(
    body: SubscriptionIn,
    store: Annotated[Store, Depends(get_store)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any]:
    sub, _ = _subscribe(settings, store, body.model_dump())
    return _pending_reply(sub)


@router.get("/api/v1/subscriptions/{token}", summary="A subscription, seen by its owner")
def get_subscription(
    token: str,
    store: Annotated[Store, Depends(get_store)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    view = _view(settings, store, _owned(store, token))
    return JSONResponse(jsonable_encoder(view), headers=PRIVATE_HEADERS)


@router.delete(
    "/api/v1/subscriptions/{token}",
    status_code=204,
    summary="Erase a subscription, its address and its history",
)
def delete_subscription(token: str, store: Annotated[Store, Depends(get_store)]) -> Response:
    subs.delete_subscription(store, _owned(store, token).id)
    return Response(status_code=204)


# --------------------------------------------------------------------------- web pages


def _page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
    from search_api.web import _templates

    return _templates(request).TemplateResponse(
        request, f"subscriptions/{name}.html", ctx, status_code=status, headers=PRIVATE_HEADERS
    )


@router.post("/subscriptions", response_class=HTMLResponse, include_in_schema=False)
async def subscribe_form(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    form = await request.form()
    data: dict[str, Any] = {}
    aliases = {"market": "markets", "sector": "sectors"}
    for key in set(form.keys()):
        name = aliases.get(key, key)
        values = [str(v).strip() for v in form.getlist(key) if str(v).strip()]
        if name in FORM_LISTS:
            data[name] = data.get(name, []) + values
        elif values:
            data[name] = values[0]
    try:
        sub, _ = _subscribe(settings, store, data)
    except ValidationError as exc:
        raise BadRequest(_explain(exc), code="invalid_parameter") from None
    return _page(request, "subscribed", {"sub": sub, "view": _view(settings, store, sub)})


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "request"
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)


@router.get(
    "/subscriptions/{token}/confirm",
    response_class=HTMLResponse,
    tags=["subscriptions"],
    summary="Confirm a subscription (the link in the confirmation email); HTML page",
)
def confirm_page(
    request: Request,
    token: str,
    store: Annotated[Store, Depends(get_store)],
    backend: Annotated[SearchBackend, Depends(get_backend)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    sub = _owned(store, token)
    notice = "already"
    if sub.state == "pending_confirmation":
        if utcnow() - sub.created_at > CONFIRM_WITHIN:
            raise Gone("this confirmation link has expired; please subscribe again")
        records = matching_records(store, backend, sub.saved_search, date.today())
        baseline = [subs.snapshot_of(r) for r in records]
        if subs.confirm(store, sub.id, baseline):
            notice = "confirmed"
        sub = _owned(store, token)
    elif sub.state == "unsubscribed":
        notice = "unsubscribed"
    return _page(
        request, "manage", {"sub": sub, "view": _view(settings, store, sub), "notice": notice}
    )


@router.get("/subscriptions/{token}", response_class=HTMLResponse, include_in_schema=False)
def manage_page(
    request: Request,
    token: str,
    store: Annotated[Store, Depends(get_store)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    sub = _owned(store, token)
    return _page(
        request, "manage", {"sub": sub, "view": _view(settings, store, sub), "notice": None}
    )


@router.get(
    "/subscriptions/{token}/unsubscribe",
    response_class=HTMLResponse,
    tags=["subscriptions"],
    summary="Unsubscribe page (a button that POSTs to the same URL)",
)
def unsubscribe_page(
    request: Request, token: str, store: Annotated[Store, Depends(get_store)]
) -> Response:
    sub = _owned(store, token)
    state = "done" if sub.state == "unsubscribed" else "ask"
    return _page(request, "unsubscribe", {"sub": sub, "state": state})


@router.post(
    "/subscriptions/{token}/unsubscribe",
    response_class=HTMLResponse,
    tags=["subscriptions"],
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post target)",
)
def unsubscribe_now(
    request: Request, token: str, store: Annotated[Store, Depends(get_store)]
) -> Response:
    sub = _owned(store, token)
    subs.unsubscribe(store, sub.id)
    return _page(request, "unsubscribe", {"sub": _owned(store, token), "state": "done"})


@router.post("/subscriptions/{token}/delete", response_class=HTMLResponse, include_in_schema=False)
def delete_page(
    request: Request, token: str, store: Annotated[Store, Depends(get_store)]
) -> Response:
    sub = _owned(store, token)
    subs.delete_subscription(store, sub.id)
    return _page(request, "unsubscribe", {"sub": None, "state": "deleted"})
