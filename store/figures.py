"""Counts for the officials' dashboard: numbers only, never a person's data."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import peewee

from store.models import Alert, Booking, OutboxMessage

DAY = 86400.0


@dataclass(frozen=True)
class AlertFigures:
    open: int
    unacknowledged: int
    oldest_unacknowledged_at: float | None
    median_ack_seconds_7d: float | None
    median_ack_seconds_30d: float | None
    per_day: list[int]  # the last 30 days, oldest first (today last)
    drills_30d: int


@dataclass(frozen=True)
class ProviderFigures:
    provider: str
    sent: int
    delivered: int
    failed: int
    segments: int  # what the service costs


def alerts(consulates: tuple[str, ...] | None, now: float) -> AlertFigures:
    def scoped(query):
        return query if consulates is None else query.where(Alert.consulate.in_(consulates))

    open_alerts = scoped(Alert.select().where(Alert.status == "open"))
    unacknowledged = open_alerts.where(Alert.acknowledged_at.is_null())
    oldest = scoped(
        Alert.select(peewee.fn.MIN(Alert.created_at)).where((Alert.status == "open") & Alert.acknowledged_at.is_null())
    ).scalar()
    real = scoped(Alert.select().where((Alert.status != "drill") & (Alert.created_at >= now - 30 * DAY)))
    per_day = [0] * 30
    acks_7, acks_30 = [], []
    for row in real:
        age_days = int((now - row.created_at) // DAY)
        if 0 <= age_days < 30:
            per_day[29 - age_days] += 1
        if row.acknowledged_at:
            waited = row.acknowledged_at - row.created_at
            acks_30.append(waited)
            if row.created_at >= now - 7 * DAY:
                acks_7.append(waited)
    drills = scoped(Alert.select().where((Alert.status == "drill") & (Alert.created_at >= now - 30 * DAY))).count()
    return AlertFigures(
        open_alerts.count(),
        unacknowledged.count(),
        oldest,
        statistics.median(acks_7) if acks_7 else None,
        statistics.median(acks_30) if acks_30 else None,
        per_day,
        drills,
    )


def bookings_between(consulates: tuple[str, ...] | None, start: float, end: float) -> dict[str, int]:
    """Active bookings per consulate in [start, end)."""
    query = (
        Booking.select(Booking.consulate, peewee.fn.COUNT(Booking.id).alias("n"))
        .where((Booking.status == "booked") & (Booking.starts_at >= start) & (Booking.starts_at < end))
        .group_by(Booking.consulate)
    )
    if consulates is not None:
        query = query.where(Booking.consulate.in_(consulates))
    return {row.consulate: row.n for row in query}


def messages_by_provider(since: float) -> list[ProviderFigures]:
    """Messages written since then, per provider: sent (or beyond), delivered, failed, and segments sent."""
    query = (
        OutboxMessage.select(
            OutboxMessage.provider,
            OutboxMessage.status,
            peewee.fn.COUNT(OutboxMessage.id).alias("n"),
            peewee.fn.SUM(OutboxMessage.segments).alias("segments"),
        )
        .where(OutboxMessage.created_at >= since)
        .group_by(OutboxMessage.provider, OutboxMessage.status)
    )
    found: dict[str, list[int]] = {}
    for row in query:
        name = row.provider or "-"
        counts = found.setdefault(name, [0, 0, 0, 0])
        if row.status in ("sent", "delivered", "undelivered"):
            counts[0] += row.n
            counts[3] += int(row.segments or 0)
        if row.status == "delivered":
            counts[1] += row.n
        if row.status in ("failed", "undelivered"):
            counts[2] += row.n
    return [ProviderFigures(name, *counts) for name, counts in sorted(found.items())]


def backlog() -> tuple[int, int]:
    """(messages waiting to leave, messages failed for good)."""
    waiting = OutboxMessage.select().where(OutboxMessage.status.in_(["pending", "sending"])).count()
    failed = OutboxMessage.select().where(OutboxMessage.status == "failed").count()
    return waiting, failed
