"""The duty roster administrators edit: phones on duty for a consulate, for a period, beside the duty
phones of config/consulates.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from store.crypto import lookup_hash, vault
from store.db import is_postgres
from store.models import DutyShift
from store.sql import Statement

# Two-key advisory lock (the one-key ones are people.add_contact's and the migrations'): roster changes
# take turns, so two administrators cannot both put one phone on duty for the same hours.
_LOCK_ROSTER = Statement("SELECT pg_advisory_xact_lock(7403, 0)")


@dataclass(frozen=True)
class Shift:
    id: int
    consulate: str
    phone: str
    starts_at: float
    ends_at: float | None


def add_shift(consulate: str, phone: str, starts_at: float, ends_at: float | None, now: float) -> Shift:
    """Puts a phone on a consulate's roster from starts_at until ends_at (None: until ended)."""
    row = DutyShift.create(
        consulate=consulate,
        phone=phone,
        phone_hash=lookup_hash(phone),
        starts_at=starts_at,
        ends_at=ends_at,
        added_at=now,
    )
    return _shift(row)


def take_turns() -> None:
    """Serialises roster changes until the transaction ends (SQLite transactions take turns already)."""
    if is_postgres():
        _LOCK_ROSTER.execute()


def overlapping(phone: str, starts_at: float, ends_at: float | None) -> list[Shift]:
    """The phone's shifts, at any consulate, sharing a moment with [starts_at, ends_at) (None: open-ended)."""
    query = DutyShift.select().where(
        (DutyShift.phone_hash == lookup_hash(phone)) & (DutyShift.ends_at.is_null() | (DutyShift.ends_at > starts_at))
    )
    if ends_at is not None:
        query = query.where(DutyShift.starts_at < ends_at)
    return [_shift(row) for row in query.order_by(DutyShift.starts_at, DutyShift.id)]


def end_shift(shift_id: int, now: float) -> bool:
    """Ends a shift now; False when there is no such shift or it had ended already."""
    ended = (
        DutyShift.update(ends_at=now)
        .where((DutyShift.id == shift_id) & (DutyShift.ends_at.is_null() | (DutyShift.ends_at > now)))
        .execute()
    )
    return ended == 1


def shifts(consulate: str | None, now: float) -> list[Shift]:
    """Current and future shifts, of one consulate or all, by consulate and start."""
    query = DutyShift.select().where(DutyShift.ends_at.is_null() | (DutyShift.ends_at > now))
    if consulate:
        query = query.where(DutyShift.consulate == consulate)
    return [_shift(row) for row in query.order_by(DutyShift.consulate, DutyShift.starts_at, DutyShift.id)]


# A shift on at a moment (its two parameters: that moment), as the written statements below ask it.
_ON_AT = "starts_at <= {p} AND (ends_at IS NULL OR ends_at > {p})"

_ON_DUTY_AT = Statement(f"SELECT phone FROM duty_shift WHERE consulate = {{p}} AND {_ON_AT} ORDER BY id")


def on_duty(consulate: str, now: float) -> list[str]:
    """The roster's phones on duty for the consulate at this moment (on every alert: a written statement)."""
    decrypt = vault().decrypt
    return [decrypt(phone) for (phone,) in _ON_DUTY_AT.execute(consulate, now, now).fetchall()]


def consulates_of(phone: str, now: float) -> list[str]:
    """The consulates whose roster has this phone on duty at this moment."""
    rows = _current(now).where(DutyShift.phone_hash == lookup_hash(phone)).order_by(DutyShift.id)
    return list(dict.fromkeys(row.consulate for row in rows))


# Asked for every SMS (a duty officer's texts go to the officers' flow): written once, not built each time.
_ON_DUTY = Statement(f"SELECT 1 FROM duty_shift WHERE phone_hash = {{p}} AND {_ON_AT} LIMIT 1")


def is_on_duty(phone: str, now: float) -> bool:
    """True when the phone is on some consulate's roster at this moment."""
    return _ON_DUTY.one(lookup_hash(phone), now, now) is not None


def _current(now: float):
    return DutyShift.select().where(
        (DutyShift.starts_at <= now) & (DutyShift.ends_at.is_null() | (DutyShift.ends_at > now))
    )


def _shift(row: DutyShift) -> Shift:
    return Shift(row.id, row.consulate, row.phone, row.starts_at, row.ends_at)
