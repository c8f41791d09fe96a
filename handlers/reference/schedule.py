"""When a consulate can see people: the appointment windows of a day, in its own time zone.

Pure: every function takes the moment it is asked ("now") and returns epoch seconds (UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.reference.consulates import Consulate


def local_day(consulate: Consulate, epoch_seconds: float) -> date:
    """The date on the consulate's calendar at that moment."""
    return datetime.fromtimestamp(epoch_seconds, ZoneInfo(consulate.time_zone)).date()


def windows_on(consulate: Consulate, day: date, slot_minutes: int) -> list[float]:
    """Every window's start on that day: from opening, one per slot length, each ending by closing.
    None on a closed weekday or a holiday."""
    if not consulate.is_open_on(day):
        return []
    zone = ZoneInfo(consulate.time_zone)
    start = datetime.combine(day, consulate.hours.opens, zone)
    close = datetime.combine(day, consulate.hours.closes, zone)
    step = timedelta(minutes=slot_minutes)
    starts = []
    # Wall-clock steps: a window on a day the clocks change still starts at the time printed on the door.
    while start + step <= close:
        starts.append(start.timestamp())
        start += step
    return starts


def bookable_days(consulate: Consulate, now: float, horizon_days: int) -> list[date]:
    """The open days from today (consulate's calendar) to the horizon, in order."""
    today = local_day(consulate, now)
    days = (today + timedelta(days=n) for n in range(horizon_days + 1))
    return [day for day in days if consulate.is_open_on(day)]


def reminder_time(consulate: Consulate, starts_at: float, hour: int) -> float:
    """The day before the appointment at `hour` o'clock, consulate time."""
    zone = ZoneInfo(consulate.time_zone)
    day_before = datetime.fromtimestamp(starts_at, zone).date() - timedelta(days=1)
    return datetime.combine(day_before, datetime.min.time().replace(hour=hour), zone).timestamp()
