"""The retention period, applied on demand (`run.py purge`; `serve` applies it daily)."""

from __future__ import annotations

from handlers.lifeline import limits
from store import erasure, inbound
from store import limits as limit_uses

DAY = 86400.0


def purge(retention_days: float, replay_window_days: float, now: float) -> erasure.Purged:
    """Deletes sessions, inbound messages and sent texts older than the retention period; the marks that
    refuse replayed carrier messages once the replay window beyond it has passed too; and the uses of
    the daily limits once a day has passed."""
    purged = erasure.purge_older_than(now - retention_days * DAY, now)
    inbound.forget_seen_before(now - (retention_days + replay_window_days) * DAY)
    limit_uses.forget_before(now - limits.DAY)
    return purged
