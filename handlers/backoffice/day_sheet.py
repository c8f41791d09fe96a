"""The officials' day sheet: one consulate's appointments of one day, as CSV (run.py export bookings)."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from handlers.backoffice.errors import OptionError
from handlers.backoffice.spreadsheet import cell
from handlers.reference.consulates import Consulate, Directory
from handlers.reference.services import Service
from store import bookings

COLUMNS = ("reference", "time", "service", "name", "phone")


def sheet_for(directory: Directory, consulate_id: str | None, day: str | None) -> tuple[Consulate, date]:
    """The consulate (its id in any case) and day a day sheet is asked for; OptionError naming --consulate or
    --date, also when one is missing."""
    if not consulate_id:
        raise OptionError(
            "--consulate", "needed: the consulate's id, e.g. --consulate houston (export consulates lists them)"
        )
    if not day:
        raise OptionError("--date", "needed: the day, e.g. --date 2026-11-30")
    consulate = directory.by_id(consulate_id)
    if consulate is None:
        raise OptionError("--consulate", f"{consulate_id!r} is not a consulate id in config/consulates.yaml")
    try:
        return consulate, date.fromisoformat(day)
    except ValueError:
        raise OptionError("--date", f"{day!r} is not a date such as 2026-11-30") from None


def day_bounds(consulate: Consulate, day: date) -> tuple[float, float]:
    """The day from midnight to midnight on the consulate's clock, as epoch seconds."""
    zone = ZoneInfo(consulate.time_zone)
    start = datetime.combine(day, time(0), zone)
    return start.timestamp(), datetime.combine(day + timedelta(days=1), time(0), zone).timestamp()


def write_day_sheet(out: TextIO, consulate: Consulate, day: date, services: tuple[Service, ...], language: str) -> int:
    """Writes the day's active appointments, by time; returns how many. Runs inside a store transaction."""
    names = {s.id: s.name(language) for s in services}
    zone = ZoneInfo(consulate.time_zone)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    rows = bookings.bookings_on(consulate.id, *day_bounds(consulate, day))
    for appointment, name, phone in rows:
        at = datetime.fromtimestamp(appointment.starts_at, zone).strftime("%H:%M")
        # An erased person's booking stays on the sheet (the place is taken), without who it was.
        service = names.get(appointment.service, appointment.service)
        writer.writerow((appointment.reference, at, service, cell(name or ""), phone or ""))
    return len(rows)
