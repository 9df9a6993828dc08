"""Who may change what: agencies their own sources and records, admins everything."""

from __future__ import annotations

from search_api.errors import Forbidden
from search_api.store.keys import Principal


def check_owner(principal: Principal, owner: str | None, what: str) -> None:
    """Forbidden unless the caller is an admin or owns the thing."""
    if not principal.may_edit(owner):
        raise Forbidden(
            f"{what} belongs to {owner or 'nobody'}; agency {principal.name!r} "
            "may change only its own"
        )
