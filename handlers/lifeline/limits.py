"""Per-number limits, so nobody can use Lifeline to flood a consulate or a stranger's phone."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 24 * 3600.0


@dataclass(frozen=True)
class Limits:
    alerts_per_day: int = 5  # new alerts (a repeat press updates the open one and does not count)
    contacts_added_per_day: int = 10  # each added contact gets an SMS: a stranger must not get many
    drills_per_day: int = 3  # each drill texts every contact
    wrong_pins_per_day: int = 5  # wrong current PINs before a change or removal: no trying all 10,000
