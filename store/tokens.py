"""API bearer tokens: only their hashes are stored; a token is revocable and its last use is kept."""

from __future__ import annotations

import hashlib

from store.db import database
from store.models import ApiRequestCount, ApiToken


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


_COUNT = """INSERT INTO api_request_count (token_hash, minute, count) VALUES ({p}, {p}, 1)
    ON CONFLICT (token_hash, minute) DO UPDATE SET count = api_request_count.count + 1 RETURNING count"""


def take_request(hashed: str, now: float, per_minute: int) -> float:
    """Counts one request made with this token (by its hash) in the current minute, in the database so that
    several server processes share one limit; 0 when allowed, else the seconds until the next minute."""
    minute = int(now // 60)
    [count] = database.execute_sql(_COUNT.replace("{p}", database.param), (hashed, minute)).fetchone()
    if count == 1:  # the token's first request this minute: its earlier minutes count no more
        ApiRequestCount.delete().where(
            (ApiRequestCount.token_hash == hashed) & (ApiRequestCount.minute < minute)
        ).execute()
    return 0.0 if count <= per_minute else (minute + 1) * 60 - now
