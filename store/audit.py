"""The audit trail: append-only, each entry chained to the one before by a hash, so an edited or deleted
row is found by `verify`. Written in the same transaction as the action it records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from store.db import database, is_postgres
from store.models import AuditEntry

GENESIS = "0" * 64
# PostgreSQL: appends take turns, so two processes never chain to the same previous entry.
_LOCK = 7400414


@dataclass(frozen=True)
class Entry:
    id: int
    at: float
    actor: str | None
    action: str
    target: str | None
    detail: str


def _digest(prev_hash: str, at: float, actor: str | None, action: str, target: str | None, detail: str) -> str:
    canonical = json.dumps([prev_hash, repr(at), actor, action, target, detail], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(actor: str | None, action: str, target: str | None, detail: str, now: float) -> None:
    """Adds an entry after the last one; call inside the action's transaction."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    last = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
    prev_hash = last.hash if last else GENESIS
    AuditEntry.create(
        at=now,
        actor=actor,
        action=action,
        target=target,
        detail=detail,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, now, actor, action, target, detail),
    )


def entries(
    action: str | None = None, actor: str | None = None, since: float | None = None, limit: int = 200
) -> list[Entry]:
    """The newest entries first, filtered."""
    query = AuditEntry.select().order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return [Entry(r.id, r.at, r.actor, r.action, r.target, r.detail) for r in query]


def verify() -> tuple[int, int | None]:
    """(entries checked, id of the first entry that does not chain), None when the chain holds."""
    prev_hash, count = GENESIS, 0
    for row in AuditEntry.select().order_by(AuditEntry.id).iterator():
        count += 1
        expected = _digest(prev_hash, row.at, row.actor, row.action, row.target, row.detail)
        if row.prev_hash != prev_hash or row.hash != expected:
            return count, row.id
        prev_hash = row.hash
    return count, None
