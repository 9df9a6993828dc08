"""Subscriptions: a saved search emailed as a digest of changes, and read as calendar/Atom feeds.

Double opt-in: subscribing stores a pending subscription and emails a confirmation link;
nothing else is sent until that link is opened. Nobody learns the token from subscribing, so
nobody can subscribe (or read the subscriptions of) an address they cannot read.

The token in the link is the owner's key: it shows and erases the subscription; unsubscribing
is one click (a POST: link scanners that follow every GET must not unsubscribe anyone).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from search_api.domain import sentences
from search_api.domain.i18n import gettext
from search_api.domain.records import AnyRecord
from search_api.domain.reminders import normalise_days
from search_api.errors import Gone, NotFound
from search_api.search.base import MAX_RESULT_WINDOW, SearchBackend
from search_api.search.request import SavedSearch
from search_api.services.feeds import feed_url, saved_search_of, search_page_url
from search_api.services.mail import (
    MailError,
    build_message,
    describe_search,
    ensure_configured,
    render,
    send_message,
    strings,
)
from search_api.services.search import every_record, language_notices
from search_api.settings import Settings
from search_api.store import Store, utcnow
from search_api.store import subscriptions as subs
from search_api.store.subscriptions import CONFIRM_WITHIN, Frequency, Language
from search_api.store.tables import SubscriptionRow


class SubscriptionIn(SavedSearch):
    """An email address, a saved search (the fields of `SavedSearch`), frequency and the
    language of the emails."""

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
                "reminders": [14, 3],
            }
        },
    )

    email: str = Field(..., max_length=254)
    frequency: Frequency = "weekly"
    # `language` in the body is the emails' language (the records' is `lang`).
    email_language: Language = Field(
        "en", validation_alias="language", description="Language of the emails: en, fr or es"
    )
    reminders: list[int] | bool | None = Field(
        None,
        description="Reminders before comment deadlines, entry into force, fair starts and "
        "registration deadlines: days before (e.g. [14, 3]), true for 14 and 3, or none",
    )

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, v: Any) -> list[int]:
        return normalise_days(v)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return subs.normalise_email(v)

    def saved_search(self) -> SavedSearch:
        data = self.model_dump(exclude={"email", "frequency", "email_language", "reminders"})
        return SavedSearch.from_fields(data)


def links(settings: Settings, sub: SubscriptionRow) -> dict[str, str]:
    base = f"{settings.base_url.rstrip('/')}/subscriptions/{sub.token}"
    out = {"manage": base, "unsubscribe": f"{base}/unsubscribe"}
    if sub.state == "pending_confirmation":
        out["confirm"] = f"{base}/confirm"
    if sub.state == "active":
        out["ics"] = feed_url(settings, sub, "ics")
        out["webcal"] = feed_url(settings, sub, "ics", webcal=True)
        out["atom"] = feed_url(settings, sub, "atom")
        out["results"] = search_page_url(settings, saved_search_of(sub))
    return out


def matching_records(
    store: Store, backend: SearchBackend, search: SavedSearch, today: date
) -> list[AnyRecord]:
    """Records a saved search matches today, read from the system of record (the index only
    says which ones match; versions and fields come from the store, the source of truth)."""
    found = every_record(backend, search.to_query(today), MAX_RESULT_WINDOW)
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
        description=describe_search(settings, saved_search_of(sub), sub.language),
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


def owned(store: Store, token: str) -> SubscriptionRow:
    sub = subs.get_by_token(store, token)
    if sub is None:
        raise NotFound("subscription not found; use the link from your email")
    return sub


def view(settings: Settings, store: Store, sub: SubscriptionRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "email": sub.email,
        "status": sub.state,
        "frequency": sub.frequency,
        "language": sub.language,
        "search": sub.search,
        "reminders": list(sub.reminder_days or []),
        "description": describe_search(settings, saved_search_of(sub), sub.language),
        "created_at": sub.created_at,
        "confirmed_at": sub.confirmed_at,
        "unsubscribed_at": sub.unsubscribed_at,
        "last_digest_at": sub.last_digest_at,
        "links": links(settings, sub),
        "others": [],
    }
    # The owner's other subscriptions, once this one proved the address is theirs; listed
    # without their links: a manage link forwarded with one alert's email must not open the
    # address's other alerts (each alert's own emails carry its link).
    if sub.confirmed_at is not None:
        out["others"] = [
            {
                "status": o.state,
                "frequency": o.frequency,
                "description": describe_search(settings, saved_search_of(o), o.language),
            }
            for o in subs.list_for_email(store, sub.email)
            if o.id != sub.id and o.state == "active"
        ]
    return out


def subscribe(
    settings: Settings, store: Store, body: SubscriptionIn, *, client: str | None = None
) -> SubscriptionRow:
    """Store a pending subscription and send its confirmation email. `client` (the caller's
    address) counts against the per-client limit; each subscription sends an email, so the
    form must not become a way to flood inboxes."""
    ensure_configured(settings)  # refuse before storing an address we cannot write to
    search = body.saved_search()
    sub = subs.create_subscription(
        store,
        client=client,
        limits=subs.SubscribeLimits(
            per_client_hour=settings.subscribe_limit_per_client_hour,
            per_hour=settings.subscribe_limit_per_hour,
        ),
        email=body.email,
        search=search.as_json(),
        frequency=body.frequency,
        language=body.email_language,
        reminder_days=body.reminders if isinstance(body.reminders, list) else [],
    )
    try:
        send_confirmation(settings, sub)
    except MailError:
        subs.delete_subscription(store, sub.id)
        raise
    return sub


def pending_reply(
    sub: SubscriptionRow, notices: list[dict[str, Any]] | None = None, lang: str = "en"
) -> dict[str, Any]:
    """The answer to a new subscription; `message` in `lang`, the client's (the emails'
    language is the subscription's own `language`)."""
    reply: dict[str, Any] = {
        "status": "pending_confirmation",
        "email": sub.email,
        "frequency": sub.frequency,
        "language": sub.language,
        "message": gettext(lang, sentences.SUBSCRIPTION_PENDING, email=sub.email),
    }
    if notices:
        reply["notices"] = notices
    return reply


def search_notices(
    backend: SearchBackend, sub: SubscriptionRow, lang: str = "en"
) -> list[dict[str, Any]]:
    """What to tell about a saved search as it is made (services.search.language_notices),
    in `lang`."""
    return language_notices(backend, saved_search_of(sub).to_query().languages, lang)


def confirm(store: Store, backend: SearchBackend, token: str) -> tuple[SubscriptionRow, str]:
    """Open the confirmation link: the subscription and what happened (`confirmed`,
    `already`, `unsubscribed`). The records it matches now are its baseline: the first digest
    reports what changes after this."""
    sub = owned(store, token)
    notice = "already"
    if sub.state == "pending_confirmation":
        if utcnow() - sub.created_at > CONFIRM_WITHIN:
            raise Gone("this confirmation link has expired; please subscribe again")
        records = matching_records(store, backend, saved_search_of(sub), date.today())
        baseline = [subs.snapshot_of(r) for r in records]
        if subs.confirm(store, sub.id, baseline):
            notice = "confirmed"
        sub = owned(store, token)
    elif sub.state == "unsubscribed":
        notice = "unsubscribed"
    return sub, notice


def unsubscribe(store: Store, token: str) -> SubscriptionRow:
    sub = owned(store, token)
    subs.unsubscribe(store, sub.id)
    return owned(store, token)


def erase(store: Store, token: str) -> None:
    """Erase a subscription, its address and its history."""
    subs.delete_subscription(store, owned(store, token).id)
