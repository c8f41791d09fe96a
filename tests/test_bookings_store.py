"""Consular appointments in the store: capacity never exceeded (also under a race), cancel, reminders, erasure."""

from __future__ import annotations

import asyncio
import threading

import pytest

from store import bookings, erasure
from store.bookings import Appointment
from store.crypto import lookup_hash
from store.db import Store, is_postgres
from store.models import Booking, Person, Slot
from tests.conftest import in_store

HOUSTON = "houston"
PASSPORT = "passport"
NOW = 1_800_000_000.0  # fixed times: the store takes `now` from its caller
DAY = 86400.0
NINE = NOW + 2 * DAY  # a window two days ahead
TEN = NINE + 3600


def _new_person(phone: str, name: str | None = None, language: str | None = None) -> int:
    return Person.create(
        phone_hash=lookup_hash(phone), phone=phone, name=name, language=language, created_at=NOW, last_seen_at=NOW
    ).id


async def people(client, count: int) -> list[int]:
    """count people with fictional numbers +1555555 01xx."""
    return await in_store(
        client, lambda: [_new_person(f"+1555555{n:04d}", f"Persona {n}", "es") for n in range(100, 100 + count)]
    )


async def book(client, person_id, starts_at=NINE, capacity=2, reminder_at=None, service=PASSPORT):
    return await in_store(client, bookings.book, person_id, HOUSTON, service, starts_at, capacity, NOW, reminder_at)


def _slot_count(starts_at: float = NINE) -> int:
    return Slot.get((Slot.consulate == HOUSTON) & (Slot.service == PASSPORT) & (Slot.starts_at == starts_at)).booked


async def test_books_until_the_window_is_full(start):
    client = await start("console")
    ana, luis, rosa = await people(client, 3)
    first = await book(client, ana)
    assert first == Appointment(first.reference, HOUSTON, PASSPORT, NINE, "booked", ana)
    assert set(first.reference) <= set(bookings.REFERENCE_ALPHABET) and len(first.reference) == 4
    second = await book(client, luis)
    assert second is not None and second.reference != first.reference
    assert await book(client, rosa) is None  # that window was just taken
    assert await in_store(client, _slot_count) == 2
    assert await in_store(client, Booking.select().count) == 2
    assert await in_store(client, bookings.booked_counts, HOUSTON, PASSPORT, NINE, TEN + 1) == {NINE: 2}
    assert await in_store(client, bookings.booked_counts, HOUSTON, PASSPORT, NINE + 1, TEN + 1) == {}
    assert await in_store(client, bookings.booked_counts, HOUSTON, "visa", NINE, TEN + 1) == {}


async def test_booking_the_same_window_twice_gives_back_the_same_appointment(start):
    client = await start("console")
    [ana] = await people(client, 1)
    first = await book(client, ana)
    assert await book(client, ana) == first
    assert await in_store(client, _slot_count) == 1
    assert await in_store(client, Booking.select().count) == 1


async def test_cancel_frees_the_place(start):
    client = await start("console")
    ana, luis, rosa = await people(client, 3)
    mine = await book(client, ana)
    await book(client, luis)
    cancelled = await in_store(client, bookings.cancel, ana, mine.reference.lower(), NOW + 60)
    assert cancelled == Appointment(mine.reference, HOUSTON, PASSPORT, NINE, "cancelled", ana)
    assert await in_store(client, _slot_count) == 1
    row = await in_store(client, Booking.get, Booking.reference == mine.reference)
    assert (row.status, row.cancelled_at) == ("cancelled", NOW + 60)
    assert await book(client, rosa) is not None  # the freed place is taken again
    assert await in_store(client, bookings.cancel, ana, mine.reference, NOW + 90) is None  # already cancelled
    assert await in_store(client, _slot_count) == 2


async def test_cancel_of_someone_elses_or_an_unknown_reference_does_nothing(start):
    client = await start("console")
    ana, luis = await people(client, 2)
    hers = await book(client, ana)
    assert await in_store(client, bookings.cancel, luis, hers.reference, NOW) is None
    unknown = next(c * 4 for c in bookings.REFERENCE_ALPHABET if c * 4 != hers.reference)
    assert await in_store(client, bookings.cancel, ana, unknown, NOW) is None
    assert await in_store(client, _slot_count) == 1
    assert [a.status for a in await in_store(client, bookings.upcoming_of, ana, NOW)] == ["booked"]


async def test_upcoming_soonest_first_without_past_or_cancelled(start):
    client = await start("console")
    [ana] = await people(client, 1)
    later = await book(client, ana, starts_at=TEN)
    sooner = await book(client, ana, starts_at=NINE)
    past = await book(client, ana, starts_at=NOW - DAY)
    dropped = await book(client, ana, starts_at=NINE, service="visa")
    await in_store(client, bookings.cancel, ana, dropped.reference, NOW)
    assert past is not None
    upcoming = await in_store(client, bookings.upcoming_of, ana, NOW)
    assert [a.reference for a in upcoming] == [sooner.reference, later.reference]


async def test_each_due_reminder_is_claimed_once_and_not_before_it_is_due(start):
    client = await start("console")
    ana, luis, rosa = await in_store(
        client,
        lambda: [
            _new_person("+15555550101", "Ana", "es"),
            _new_person("+15555550102", "Luis", None),
            _new_person("+15555550103", "Rosa", "en"),
        ],
    )
    due_later = await book(client, ana, starts_at=TEN, reminder_at=NOW + 2 * 3600)
    due_first = await book(client, luis, starts_at=NINE, reminder_at=NOW + 3600)
    no_reminder = await book(client, rosa, starts_at=NINE)
    cancelled = await book(client, rosa, starts_at=TEN, reminder_at=NOW + 60)
    await in_store(client, bookings.cancel, rosa, cancelled.reference, NOW)
    assert no_reminder is not None

    assert await in_store(client, bookings.claim_due_reminders, NOW + 3599) == []
    claimed = await in_store(client, bookings.claim_due_reminders, NOW + 3 * 3600)
    assert claimed == [(due_first, "+15555550102", None), (due_later, "+15555550101", "es")]
    assert await in_store(client, bookings.claim_due_reminders, NOW + 3 * 3600) == []
    sent = await in_store(client, lambda: {b.reference: b.reminder_sent_at for b in Booking.select()})
    assert sent[due_first.reference] == sent[due_later.reference] == NOW + 3 * 3600


async def test_claim_respects_the_limit_and_skips_appointments_already_begun(start):
    client = await start("console")
    ana, luis, rosa = await people(client, 3)
    for person in (ana, luis):
        await book(client, person, reminder_at=NOW)
    begun = await book(client, rosa, starts_at=NOW + 60, reminder_at=NOW)
    first = await in_store(client, bookings.claim_due_reminders, NOW + 120, 1)
    second = await in_store(client, bookings.claim_due_reminders, NOW + 120, 1)
    assert len(first) == len(second) == 1 and first[0][0].person_id != second[0][0].person_id
    assert await in_store(client, bookings.claim_due_reminders, NOW + 120) == []
    row = await in_store(client, Booking.get, Booking.reference == begun.reference)
    assert row.reminder_sent_at is None


async def test_bookings_on_lists_active_bookings_with_name_and_number_by_time(start):
    client = await start("console")
    ana, luis = await in_store(client, lambda: [_new_person("+15555550101", "Ana"), _new_person("+15555550102", None)])
    at_ten = await book(client, ana, starts_at=TEN)
    at_nine = await book(client, luis, starts_at=NINE)
    dropped = await book(client, ana, starts_at=NINE, service="visa")
    await in_store(client, bookings.cancel, ana, dropped.reference, NOW)
    await in_store(client, bookings.book, ana, "chicago", PASSPORT, NINE, 2, NOW, None)
    listed = await in_store(client, bookings.bookings_on, HOUSTON, NINE, NINE + DAY)
    assert listed == [(at_nine, None, "+15555550102"), (at_ten, "Ana", "+15555550101")]
    assert await in_store(client, bookings.bookings_on, HOUSTON, NINE, TEN) == [(at_nine, None, "+15555550102")]


async def test_erasure_cancels_future_bookings_and_keeps_past_ones_anonymised(start):
    client = await start("console")
    ana, luis = await people(client, 2)
    future = await book(client, ana, capacity=1, reminder_at=NOW + 3600)
    past = await book(client, ana, starts_at=NOW - DAY)
    kept = await book(client, luis, starts_at=TEN)
    assert await book(client, luis, capacity=1) is None  # Ana holds the only place
    await in_store(client, erasure.erase_person, ana, NOW)
    rows = await in_store(client, lambda: {b.reference: b for b in Booking.select()})
    assert (rows[future.reference].status, rows[future.reference].person_id) == ("cancelled", None)
    assert (rows[past.reference].status, rows[past.reference].person_id) == ("booked", None)
    assert rows[kept.reference].person_id == luis
    assert await in_store(client, _slot_count) == 0
    assert await in_store(client, bookings.claim_due_reminders, NOW + 7200) == []
    assert await book(client, luis, capacity=1) is not None  # the place went back


async def _race(client, persons: list[int], capacity: int, threads: int) -> list[Appointment | None]:
    """Every person books the same window at once, each in its own transaction on its own connection."""
    racing = Store(threads=threads)
    try:
        return await asyncio.gather(
            *(racing.run(bookings.book, p, HOUSTON, PASSPORT, NINE, capacity, NOW, None) for p in persons)
        )
    finally:
        await asyncio.get_running_loop().run_in_executor(None, racing.close)


async def _assert_two_won(client, results):
    assert sum(r is not None for r in results) == 2
    assert sum(r is None for r in results) == 28
    assert await in_store(client, _slot_count) == 2
    assert await in_store(client, Booking.select().count) == 2
    assert len({r.reference for r in results if r}) == 2


@pytest.mark.parametrize("attempt", range(5))
async def test_thirty_racing_for_two_places_book_exactly_two(start, attempt):
    client = await start("console")
    persons = await people(client, 30)
    await _assert_two_won(client, await _race(client, persons, capacity=2, threads=10))


@pytest.mark.parametrize("attempt", range(5))
async def test_thirty_updating_the_same_window_at_the_same_instant_book_exactly_two(start, monkeypatch, attempt):
    """PostgreSQL: all 30 transactions are held until each has begun, then all take a place at once.

    The window already exists, so nobody waits on its insert; only the guarded UPDATE keeps it at two.
    (SQLite transactions take the write lock at BEGIN: they cannot be open at once to be held.)
    """
    client = await start("console")
    if not is_postgres():
        pytest.skip("SQLite write transactions cannot overlap")
    persons = await people(client, 30)
    await in_store(client, lambda: Slot.create(consulate=HOUSTON, service=PASSPORT, starts_at=NINE, booked=0))
    all_in = threading.Barrier(len(persons), timeout=20)
    looked_up = bookings._active_booking

    def held(*args):
        found = looked_up(*args)
        all_in.wait()
        return found

    monkeypatch.setattr(bookings, "_active_booking", held)
    await _assert_two_won(client, await _race(client, persons, capacity=2, threads=len(persons)))
