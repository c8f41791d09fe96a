"""API bearer tokens: only their hashes are stored; a token is revocable and its last use is kept."""

from __future__ import annotations

import hashlib

from store.models import ApiToken


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def add(account_id: int, token: str, now: float) -> int:
    return ApiToken.create(account=account_id, token_hash=token_hash(token), created_at=now).id


def account_of(token: str, now: float) -> int | None:
    """The account a live token belongs to, noting its use; None for an unknown or revoked token."""
    row = ApiToken.get_or_none((ApiToken.token_hash == token_hash(token)) & ApiToken.revoked_at.is_null())
    if row is None:
        return None
    ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return row.account_id


def revoke(token_id: int, now: float) -> bool:
    return bool(
        ApiToken.update(revoked_at=now).where((ApiToken.id == token_id) & ApiToken.revoked_at.is_null()).execute()
    )
