"""Consular appointments: booked into a window of fixed capacity, cancelled, reminded, listed for the consulate.

Every function runs inside the one transaction the Store opens around it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import peewee

from store.alerts import REFERENCE_ALPHABET, REFERENCE_LENGTH
from store.db import inserted_one, is_postgres
from store.models import Booking, Person, Slot
from store.sql import Statement

BOOKED, CANCELLED = "booked", "cancelled"


@dataclass(frozen=True)
class Appointment:
    reference: str
    consulate: str
    service: str
    starts_at: float  # UTC epoch seconds
    status: str  # booked | cancelled
    person_id: int | None  # None once the person erased their data


def _appointment(row: Booking) -> Appointment:
    return Appointment(row.reference, row.consulate, row.service, row.starts_at, row.status, row.person_id)


def _slot(consulate: str, service: str, starts_at: float):
    return (Slot.consulate == consulate) & (Slot.service == service) & (Slot.starts_at == starts_at)


# Two-key advisory locks live apart from the one-key ones (people.add_contact, migrations).
_LOCK_PERSON_BOOKINGS = Statement("SELECT pg_advisory_xact_lock(7402, {p})")

# The due ids are picked once (MATERIALIZED): as `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`
# PostgreSQL may rerun the subquery for each row of a nested loop, and each rerun skips the rows
# this very statement just updated, so it claimed more than n (seen in the limit test).
_CLAIM_REMINDERS = """WITH due AS MATERIALIZED (
        SELECT id FROM booking
        WHERE reminder_sent_at IS NULL AND reminder_at <= {p} AND status = {p}
              AND person_id IS NOT NULL AND starts_at > {p}
        ORDER BY reminder_at, id LIMIT {p} %s)
    UPDATE booking SET reminder_sent_at = {p}
    WHERE id IN (SELECT id FROM due) AND reminder_sent_at IS NULL AND status = {p}
    RETURNING *"""
_CLAIM_REMINDERS_SQLITE = Statement(_CLAIM_REMINDERS % "")
# Other processes skip the bookings this one is claiming instead of waiting for them.
_CLAIM_REMINDERS_POSTGRES = Statement(_CLAIM_REMINDERS % "FOR UPDATE SKIP LOCKED")


def booked_counts(consulate: str, service: str, start: float, end: float) -> dict[float, int]:
    """starts_at -> active bookings, for the windows in [start, end) that hold any (absent: none)."""
    rows = (
        Slot.select(Slot.starts_at, Slot.booked)
        .where(
            (Slot.consulate == consulate)
            & (Slot.service == service)
            & (Slot.starts_at >= start)
            & (Slot.starts_at < end)
            & (Slot.booked > 0)
        )
        .tuples()
    )
    return {starts_at: booked for starts_at, booked in rows}


def _active_booking(person_id: int, consulate: str, service: str, starts_at: float) -> Booking | None:
    return (
        Booking.select()
        .where(
            (Booking.person == person_id)
            & (Booking.status == BOOKED)
            & (Booking.consulate == consulate)
            & (Booking.service == service)
            & (Booking.starts_at == starts_at)
        )
        .first()
    )


def _take_place(consulate: str, service: str, starts_at: float, capacity: int) -> bool:
    """Counts one more booking in the window unless it is full; False if full.

    The check and the increment are one UPDATE: on PostgreSQL a second racer waits for the row
    lock and re-checks `booked < capacity` against the committed count (on SQLite the transaction
    is IMMEDIATE, so racers take turns anyway). A SELECT then UPDATE would let both in.
    """
    inserted_one(Slot.insert(consulate=consulate, service=service, starts_at=starts_at, booked=0).on_conflict_ignore())
    taken = (
        Slot.update(booked=Slot.booked + 1)
        .where(_slot(consulate, service, starts_at) & (Slot.booked < capacity))
        .execute()
    )
    return taken == 1


def _free_place(consulate: str, service: str, starts_at: float) -> None:
    Slot.update(booked=Slot.booked - 1).where(_slot(consulate, service, starts_at) & (Slot.booked > 0)).execute()


def book(
    person_id: int,
    consulate: str,
    service: str,
    starts_at: float,
    capacity: int,
    now: float,
    reminder_at: float | None,
) -> Appointment | None:
    """The person's new appointment in this window; None when the window already holds capacity bookings.

    Booking the same window twice gives back the booking they already hold (a repeated message
    must not take a second place).
    """
    if is_postgres():
        _LOCK_PERSON_BOOKINGS.execute(person_id)  # the same request twice at once books once
    held = _active_booking(person_id, consulate, service, starts_at)
    if held is not None:
        return _appointment(held)
    if not _take_place(consulate, service, starts_at, capacity):
        return None
    for _ in range(20):
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        # ON CONFLICT DO NOTHING instead of catching IntegrityError: a taken reference is retried,
        # while a real fault (an unknown person) still raises and undoes the place taken above.
        added = inserted_one(
            Booking.insert(
                reference=reference,
                person=person_id,
                consulate=consulate,
                service=service,
                starts_at=starts_at,
                status=BOOKED,
                created_at=now,
                reminder_at=reminder_at,
            ).on_conflict_ignore()
        )
        if added:
            return Appointment(reference, consulate, service, starts_at, BOOKED, person_id)
    raise RuntimeError("no free booking reference after 20 tries")


def upcoming_of(person_id: int, now: float) -> list[Appointment]:
    """The person's active appointments from now on, soonest first."""
    rows = (
        Booking.select()
        .where((Booking.person == person_id) & (Booking.status == BOOKED) & (Booking.starts_at >= now))
        .order_by(Booking.starts_at, Booking.id)
    )
    return [_appointment(row) for row in rows]


def _cancel_row(row: Booking, now: float) -> bool:
    """Cancels one active booking and frees its place; False if it was no longer active.

    Guarded on the status, so two cancels at once free the place once.
    """
    cancelled = (
        Booking.update(status=CANCELLED, cancelled_at=now, reminder_at=None)  # no reminder is due any more
        .where((Booking.id == row.id) & (Booking.status == BOOKED))
        .execute()
    )
    if cancelled:
        _free_place(row.consulate, row.service, row.starts_at)
    return bool(cancelled)


def cancel(person_id: int, reference: str, now: float) -> Appointment | None:
    """Cancels the person's own upcoming booking with this reference (any case); None if there is none.
    One that has begun is history: it is not rewritten."""
    row = Booking.get_or_none(
        (Booking.reference == reference.strip().upper())
        & (Booking.person == person_id)
        & (Booking.status == BOOKED)
        & (Booking.starts_at >= now)
    )
    if row is None or not _cancel_row(row, now):
        return None
    return Appointment(row.reference, row.consulate, row.service, row.starts_at, CANCELLED, row.person_id)


def cancel_future_of(person_id: int, now: float) -> int:
    """Cancels the person's appointments from now on, freeing their places; how many."""
    rows = Booking.select().where(
        (Booking.person == person_id) & (Booking.status == BOOKED) & (Booking.starts_at >= now)
    )
    return sum(_cancel_row(row, now) for row in list(rows))


def claim_due_reminders(now: float, limit: int = 100) -> list[tuple[Appointment, str, str | None]]:
    """(appointment, phone, language) for each reminder due now, claimed for this caller only.

    Claimed means marked sent in this same transaction: another process never gets it too. A
    reminder that fell due only after the appointment began is not worth sending and is left alone.
    """
    statement = _CLAIM_REMINDERS_POSTGRES if is_postgres() else _CLAIM_REMINDERS_SQLITE
    rows = statement.rows(Booking, now, BOOKED, now, limit, now, BOOKED)
    if not rows:
        return []
    people = {
        person.id: person
        for person in Person.select(Person.id, Person.phone, Person.language).where(
            Person.id.in_([row.person_id for row in rows])
        )
    }
    rows.sort(key=lambda row: (row.reminder_at, row.id))
    return [
        (_appointment(row), people[row.person_id].phone, people[row.person_id].language)
        for row in rows
        if row.person_id in people
    ]


def bookings_on(consulate: str, start: float, end: float) -> list[tuple[Appointment, str | None, str | None]]:
    """(appointment, person's name, person's phone) for the active bookings in [start, end), by time.

    Name and phone are None for a person who erased their data.
    """
    rows = (
        Booking.select(Booking, Person.name, Person.phone)
        .join(Person, peewee.JOIN.LEFT_OUTER, on=Booking.person == Person.id)
        .where(
            (Booking.consulate == consulate)
            & (Booking.status == BOOKED)
            & (Booking.starts_at >= start)
            & (Booking.starts_at < end)
        )
        .order_by(Booking.starts_at, Booking.id)
        .objects()
    )
    return [(_appointment(row), row.name, row.phone) for row in rows]


def cancel_for_consulate(
    consulate: str, reference: str, now: float
) -> tuple[Appointment, str | None, str | None] | None:
    """An official cancels an upcoming booking of their consulate: the appointment, and the person's number and
    language to tell them (None once erased); None when there is no such upcoming booking."""
    row = Booking.get_or_none(
        (Booking.reference == reference.strip().upper())
        & (Booking.consulate == consulate)
        & (Booking.status == BOOKED)
        & (Booking.starts_at >= now)
    )
    if row is None or not _cancel_row(row, now):
        return None
    person = Person.get_or_none(Person.id == row.person_id) if row.person_id else None
    appointment = Appointment(row.reference, row.consulate, row.service, row.starts_at, CANCELLED, row.person_id)
    return appointment, person.phone if person else None, person.language if person else None
