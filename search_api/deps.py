"""FastAPI dependencies, declared once: routers and web pages say `store: StoreDep`.

They are `async` because FastAPI runs a plain `def` dependency in a worker thread: a thread hop
per dependency per request, for a one-line attribute lookup.

Who may write: `Authorization: Bearer KEY` on the API, or a signed-in web session (built on the
same keys). Reads are public; writes need a key with role agency (its own sources and records)
or admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from search_api.domain.i18n import negotiate
from search_api.errors import Forbidden, Unauthorized
from search_api.search.base import SearchBackend
from search_api.search.request import SearchRequest
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import Principal, verify_key
from search_api.store.sessions import session_principal


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_backend(request: Request) -> SearchBackend:
    backend: SearchBackend = request.app.state.backend
    return backend


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def answer_language(request: Request) -> str:
    """The language of the sentences an API answer writes for a person (eligibility, why a
    record is shown, checklist labels, notices): the best of en/fr/es by the request's
    Accept-Language, else English. Never the `lang` parameter: that filters records by
    their own language."""
    return negotiate(request.headers.get("accept-language"))


def language_headers(lang: str) -> dict[str, str]:
    """What an answer in `lang` says about it: caches must keep one copy per language."""
    return {"Content-Language": lang, "Vary": "Accept-Language"}


async def api_language(request: Request, response: Response) -> str:
    """`answer_language`, with the answer's Content-Language and Vary headers set."""
    lang = answer_language(request)
    response.headers.update(language_headers(lang))
    return lang


def search_request(request: Request, *, ignore: Sequence[str] = ()) -> SearchRequest:
    """The search in this request's query string; a malformed value is a 422 naming it, a
    meaningless one (an unknown market) a 400. `ignore`: names that mean something else
    where the request came (the web pages' own `lang`)."""
    qp = request.query_params
    try:
        return SearchRequest.from_query(
            {name: qp.getlist(name) for name in qp.keys()},  # noqa: SIM118 - a multidict
            ignore=ignore,
        )
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("query", *err["loc"])} for err in exc.errors()]
        ) from None


PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
"""Pages and answers behind a secret token: not cached, not indexed, and the token never leaks
to other sites as a Referer."""

StoreDep = Annotated[Store, Depends(get_store)]
BackendDep = Annotated[SearchBackend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AnswerLanguage = Annotated[str, Depends(api_language)]
"""The answer's language (`answer_language`) for a route returning data; the response gets
Content-Language and `Vary: Accept-Language`."""


def optional_principal(request: Request, store: StoreDep) -> Principal | None:
    """The caller behind a bearer key or a signed-in web session, or None (anonymous)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("use 'Authorization: Bearer <api key>'")
        principal = verify_key(store, key.strip())
        if principal is None:
            raise Unauthorized("invalid or revoked API key")
        return principal
    if request.url.path.startswith("/api/"):
        # The JSON API takes bearer keys only: a session cookie there would allow cross-site
        # requests without the CSRF token the web forms check.
        return None
    return session_of(request, store)


_NOT_LOOKED_UP = object()


def session_of(request: Request, store: Store) -> Principal | None:
    """Who the request's signed-in web session belongs to, or None; looked up once a request
    (a page asks it for its header and for its own rights)."""
    found = getattr(request.state, "session_principal", _NOT_LOOKED_UP)
    if found is _NOT_LOOKED_UP:
        session = request.scope.get("session") if "session" in request.scope else None
        sid = session.get("sid") if isinstance(session, dict) else None
        found = session_principal(store, sid) if isinstance(sid, str) else None
        request.state.session_principal = found
    return found  # type: ignore[return-value]


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise Unauthorized("this needs an API key: 'Authorization: Bearer <api key>'")
    return principal


Writer = Annotated[Principal, Depends(require_principal)]


def require_admin(principal: Writer) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this needs an admin key")
    return principal


Admin = Annotated[Principal, Depends(require_admin)]
