"""Agency web sessions kept on the server, so that signing out ends them: the session cookie
holds a random token whose SHA-256 names a row here; no row, no session."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from search_api.store.base import StoreBase, utcnow
from search_api.store.keys import Principal, get_principal
from search_api.store.tables import AgencySessionRow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: StoreBase, key_id: int, max_age_seconds: int) -> str:
    """A new session for the key; returns its token (for the cookie), never stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.session() as s, s.begin():
        # housekeeping on sign-in: sessions past their expiry are of no use to anyone
        s.execute(delete(AgencySessionRow).where(AgencySessionRow.expires_at <= now))
        s.add(
            AgencySessionRow(
                token_hash=_hash(token),
                key_id=key_id,
                created_at=now,
                expires_at=now + timedelta(seconds=max_age_seconds),
            )
        )
    return token


def session_principal(store: StoreBase, token: str) -> Principal | None:
    """Who a session token signs in: None once it was ended, has expired or its key was
    revoked."""
    if not token or len(token) > 200:
        return None
    with store.session() as s:
        row = s.scalar(select(AgencySessionRow).where(AgencySessionRow.token_hash == _hash(token)))
        if row is None or row.expires_at <= utcnow():
            return None
        key_id = row.key_id
    return get_principal(store, key_id)


def end_session(store: StoreBase, token: str) -> None:
    with store.session() as s, s.begin():
        s.execute(delete(AgencySessionRow).where(AgencySessionRow.token_hash == _hash(token)))
