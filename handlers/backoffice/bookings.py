"""A consulate's bookings of a day for the console, and an official's cancel (the person is told by SMS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.backoffice.day_sheet import day_bounds
from handlers.outcome import Outgoing, Result
from handlers.reference.consulates import Consulate, name_for
from handlers.reference.services import Service
from store import audit, bookings


@dataclass(frozen=True)
class Line:
    reference: str
    time: str  # HH:MM, consulate time
    service: str
    name: str | None
    phone: str | None
    status: str


def day(consulate: Consulate, on: date, services: tuple[Service, ...], language: str) -> list[Line]:
    names = {s.id: s.name(language) for s in services}
    zone = ZoneInfo(consulate.time_zone)
    return [
        Line(
            a.reference,
            datetime.fromtimestamp(a.starts_at, zone).strftime("%H:%M"),
            names.get(a.service, a.service),
            name,
            phone,
            a.status,
        )
        for a, name, phone in bookings.bookings_on(consulate.id, *day_bounds(consulate, on))
    ]


def cancel(consulate: Consulate, reference: str, email: str, now: float) -> Result:
    """Frees the place; the person gets an SMS saying the consulate cancelled it."""
    cancelled = bookings.cancel_for_consulate(consulate.id, reference, now)
    if cancelled is None:
        return Result(outcome="unchanged")
    appointment, phone, language = cancelled
    audit.append(email, "booking.cancel", appointment.reference, consulate.id, now)
    told = ()
    if phone:
        values = {"ref": appointment.reference, "consulate_name": name_for(consulate, language)}
        told = (Outgoing(phone, "appointment.cancelled_by_consulate", values, language),)
    return Result(outcome="done", outgoing=told)
