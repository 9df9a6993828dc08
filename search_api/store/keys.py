"""API keys. A key is shown once when created; only its SHA-256 is stored.

Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update

from search_api.domain.textfold import fold_accents
from search_api.errors import BadRequest, NotFound
from search_api.store.base import StoreBase, utcnow
from search_api.store.tables import ApiKeyRow

Role = Literal["agency", "admin"]
ROLES: tuple[str, ...] = ("agency", "admin")
KEY_PREFIX = "tp_"
# 70 at most: curated records of an agency live in source `curated_<name>` (80 characters max).
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,69}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the agency name (or admin) behind a valid key."""

    key_id: int
    name: str
    role: str
    display_name: str | None = None

    @property
    def label(self) -> str:
        """What pages call the agency: its display name, else its id."""
        return self.display_name or self.name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_edit(self, owner: str | None) -> bool:
        return self.is_admin or (owner is not None and owner == self.name)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def agency_id(name: str) -> str:
    """The id an agency's display name gives: "Kenya Export Promotion Council" ->
    "kenya_export_promotion_council"; an id (kenya_epc) is its own."""
    words = re.findall(r"[a-z0-9]+", fold_accents(name))
    return "_".join(words)[:70].strip("_")


def create_key(store: StoreBase, name: str, role: str, display_name: str | None = None) -> str:
    """Create a key and return it; this is the only time the key itself is available."""
    if role not in ROLES:
        raise BadRequest(f"role: must be one of {', '.join(ROLES)}")
    if not _NAME_RE.match(name):
        raise BadRequest("name: 2-70 lowercase letters, digits, '_' or '-' (e.g. kenya_epc)")
    if display_name is not None and not 1 <= len(display_name.strip()) <= 200:
        raise BadRequest("display name: 1-200 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with store.session() as s, s.begin():
        s.add(
            ApiKeyRow(
                name=name,
                display_name=display_name.strip() if display_name else None,
                role=role,
                key_hash=hash_key(key),
                hint=key[:7],
                created_at=utcnow(),
                revoked=False,
            )
        )
    return key


def verify_key(store: StoreBase, key: str) -> Principal | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = hash_key(key)
    with store.session() as s, s.begin():
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
        # compare_digest: the lookup is by hash already, but keep the check constant-time.
        if row is None or row.revoked or not hmac.compare_digest(row.key_hash, digest):
            return None
        row.last_used_at = utcnow()
        return _principal(row)


def get_principal(store: StoreBase, key_id: int) -> Principal | None:
    with store.session() as s:
        row = s.get(ApiKeyRow, key_id)
        if row is None or row.revoked:
            return None
        return _principal(row)


def _principal(row: ApiKeyRow) -> Principal:
    return Principal(key_id=row.id, name=row.name, role=row.role, display_name=row.display_name)


def list_keys(store: StoreBase) -> list[ApiKeyRow]:
    with store.session() as s:
        return list(s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all())


def revoke_key(store: StoreBase, key_id: int) -> None:
    with store.session() as s, s.begin():
        res = s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(revoked=True))
        if res.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"key {key_id} not found")
