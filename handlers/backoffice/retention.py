"""The retention period, applied on demand (`run.py purge`; `serve` applies it daily)."""

from __future__ import annotations

from store import erasure

DAY = 86400.0


def purge(retention_days: float, now: float) -> erasure.Purged:
    """Deletes sessions, inbound messages and sent texts older than the retention period."""
    return erasure.purge_older_than(now - retention_days * DAY, now)
