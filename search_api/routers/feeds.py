"""Calendar (iCalendar) and Atom feeds: a subscription's, and the fairs of any search.

What they hold is built in services/feeds.py; here each becomes an HTTP answer that calendar
apps and feed readers can poll cheaply (ETag, Last-Modified, a cache lifetime).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date
from email.utils import format_datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from search_api.deps import BackendDep, SettingsDep, StoreDep, search_request
from search_api.domain.reminders import DEFAULT_DAYS, parse_days
from search_api.errors import InvalidParameter
from search_api.routers.params import SEARCH_OPENAPI
from search_api.services.feeds import (
    Feed,
    fairs_calendar,
    requirements_calendar,
    subscription_atom,
    subscription_calendar,
)

router = APIRouter(tags=["feeds"])

CACHE_CONTROL = "max-age=900"


def _respond(request: Request, feed: Feed) -> Response:
    etag = '"' + hashlib.sha256(feed.body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Content-Disposition": f'inline; filename="{feed.filename}"',
    }
    newest = feed.last_changed
    if newest is not None:
        headers["Last-Modified"] = format_datetime(newest.replace(tzinfo=UTC), usegmt=True)
    inm = request.headers.get("if-none-match", "")
    if etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=feed.body, media_type=feed.media_type, headers=headers)


@router.get(
    "/feeds/{feed_token}.ics",
    summary="A subscription's fairs as iCalendar",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def subscription_ics(
    request: Request,
    feed_token: str,
    store: StoreDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    return _respond(request, subscription_calendar(store, backend, settings, feed_token))


@router.get(
    "/feeds/{feed_token}.atom",
    summary="A subscription's records as an Atom feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
def subscription_atom_feed(
    request: Request,
    feed_token: str,
    store: StoreDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    return _respond(request, subscription_atom(store, backend, settings, feed_token))


def _remind(request: Request, default: tuple[int, ...]) -> list[int]:
    """The `remind` parameter: days before each date for the events' alarms ("14,3")."""
    raw = request.query_params.get("remind")
    if raw is None:
        return list(default)
    try:
        return parse_days(raw)
    except ValueError as exc:
        raise InvalidParameter(f"remind: {exc}") from None


def _with_remind(description: str) -> dict:
    remind = {
        "name": "remind",
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "example": "14,3"},
    }
    return {"parameters": [*SEARCH_OPENAPI["parameters"], remind]}


@router.get(
    "/api/v1/requirements.ics",
    tags=["search"],
    summary="Comment deadlines and entry-into-force dates of a requirement search, as iCalendar",
    description="All-day events with stable UIDs (`<record id>-comment-deadline@host`, "
    "`<record id>-effective-date@host`) and SEQUENCE = the record's version. The same "
    "parameters as /api/v1/search (kind is always requirement); `date_from`/`date_to` select "
    "the events' dates (default: from 90 days ago on); up to 1000 requirements.",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    openapi_extra=_with_remind("Alarms so many days before each date (default 14,3; empty: none)"),
)
def requirements_ics(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    search = search_request(request, ignore=("page", "size", "sort"))
    alarms = _remind(request, DEFAULT_DAYS)
    return _respond(request, requirements_calendar(store, settings, search, date.today(), alarms))


@router.get(
    "/api/v1/fairs.ics",
    tags=["search"],
    summary="Fairs of any search as iCalendar (up to 1000; page and size are ignored)",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    openapi_extra=_with_remind("Alarms so many days before each fair (e.g. 14,3; default none)"),
)
def fairs_ics(request: Request, backend: BackendDep, settings: SettingsDep) -> Response:
    search = search_request(request, ignore=("page", "size"))
    alarms = _remind(request, ())
    return _respond(request, fairs_calendar(backend, settings, search, date.today(), alarms))
