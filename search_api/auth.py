"""Who may write: `Authorization: Bearer KEY` on the API (web sessions build on the same keys).

Reads are public. Writes need a key with role agency (its own sources and records) or admin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from search_api.deps import get_store
from search_api.errors import Forbidden, Unauthorized
from search_api.store import Store
from search_api.store.keys import Principal, get_principal, verify_key


def optional_principal(
    request: Request, store: Annotated[Store, Depends(get_store)]
) -> Principal | None:
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
    key_id = request.scope.get("session", {}).get("key_id") if "session" in request.scope else None
    if isinstance(key_id, int):
        return get_principal(store, key_id)
    return None


def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("this needs an API key: 'Authorization: Bearer <api key>'")
    return principal


def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this needs an admin key")
    return principal


def check_owner(principal: Principal, owner: str | None, what: str) -> None:
    """403 unless the caller is an admin or owns the thing."""
    if not principal.may_edit(owner):
        raise Forbidden(
            f"{what} belongs to {owner or 'nobody'}; agency {principal.name!r} "
            "may change only its own"
        )


Writer = Annotated[Principal, Depends(require_principal)]
Admin = Annotated[Principal, Depends(require_admin)]
