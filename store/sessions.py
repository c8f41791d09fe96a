"""Conversation sessions in the store, so a session survives a restart and hops may land on any process."""

from __future__ import annotations

from dataclasses import dataclass

from store.crypto import vault
from store.models import ConversationSession
from store.sql import Statement


@dataclass(frozen=True)
class StoredSession:
    state: str  # the engine's session as JSON
    consumed: int
    ended: bool
    updated_at: float


_LOAD = Statement(
    "SELECT state, consumed, ended, updated_at FROM conversation_session WHERE key = {p} AND expires_at > {p}"
)

_SAVE = Statement(
    """INSERT INTO conversation_session (key, phone_hash, channel, state, consumed, ended, updated_at, expires_at)
    VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})
    ON CONFLICT (key) DO UPDATE SET state = excluded.state, consumed = excluded.consumed,
        ended = excluded.ended, updated_at = excluded.updated_at, expires_at = excluded.expires_at"""
)


def load(key: str, now: float) -> StoredSession | None:
    """The unexpired session stored under key."""
    row = _LOAD.one(key, now)
    if row is None:
        return None
    state, consumed, ended, updated_at = row
    return StoredSession(vault().decrypt(state), int(consumed), bool(ended), float(updated_at))


def save(
    key: str, phone_hash: str, channel: str, state: str, consumed: int, ended: bool, now: float, expires_at: float
) -> None:
    """Stores the session (replacing what was there)."""
    _SAVE.execute(key, phone_hash, channel, vault().encrypt(state), consumed, ended, now, expires_at)


_FORGET = Statement("DELETE FROM conversation_session WHERE key = {p}")


def forget(key: str) -> None:
    """Drops a session (an SMS conversation that reached its end: many do)."""
    _FORGET.execute(key)


def forget_number(phone_hash: str) -> None:
    """Drops every session of this number (its person erased themselves)."""
    ConversationSession.delete().where(ConversationSession.phone_hash == phone_hash).execute()


# On every dial. `channel = 'ussd' AND NOT ended` as written here selects the partial index of mid-way
# sessions (schema step 18), which holds few rows: most dials end at the main menu, stored as ended. The
# prefix is compared with substr, not LIKE: SQLite prepares a statement again on each new LIKE pattern
# bound to it (12 µs against 2), and a range (key >= 'ussd:x:' AND key < 'ussd:x;') would follow
# PostgreSQL's collation, which may ignore punctuation.
_DROPPED = Statement(
    """SELECT key, state FROM conversation_session
    WHERE phone_hash = {p} AND channel = 'ussd' AND NOT ended
      AND substr(key, 1, {p}) = {p} AND updated_at >= {p} AND expires_at > {p}
    ORDER BY updated_at DESC LIMIT 1"""
)


def dropped_ussd_session(phone_hash: str, key_prefix: str, since: float, now: float) -> tuple[str, str] | None:
    """(key, state as JSON) of this person's newest USSD session that stopped mid-way after `since`."""
    row = _DROPPED.one(phone_hash, len(key_prefix), key_prefix, since, now)
    return (row[0], vault().decrypt(row[1])) if row else None


_CLOSE = Statement("UPDATE conversation_session SET ended = {p}, updated_at = {p} WHERE key = {p}")


def close(key: str, now: float) -> None:
    """Marks a session finished, so it is never offered for resumption."""
    _CLOSE.execute(True, now, key)


def purge_expired(now: float) -> int:
    """Deletes expired sessions; returns how many."""
    return ConversationSession.delete().where(ConversationSession.expires_at <= now).execute()
