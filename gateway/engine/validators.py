"""Checks for typed answers: each returns the normalised value, or None when the answer is not valid."""

from __future__ import annotations

import datetime
import re

from gateway.engine.flows import Screen
from gateway.engine.reading import Reading

_DATE = re.compile(r"^(\d{1,2})[/\-. ](\d{1,2})[/\-. ](\d{4})$")
_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")
PIN_LENGTH = 4


def validate(kind: str | None, text: str, screen: Screen, region: str, reading: Reading) -> str | None:
    """The answer normalised for the validator `kind`, or None."""
    text = text.strip()
    if not text:
        return None
    if kind == "digits":
        return text if text.isascii() and text.isdigit() and len(text) <= screen.max_length else None
    if kind == "pin":  # exactly PIN_LENGTH digits: "12" and "12345" both get the error that says so
        return text if text.isascii() and text.isdigit() and len(text) == PIN_LENGTH else None
    if kind == "zip":
        match = _ZIP.match(text.replace(" ", ""))
        return match.group(1) if match else None
    if kind == "phone":
        return reading.read_number(text, region)
    if kind == "date":
        return _date(text)
    if kind == "choice":
        wanted = reading.fold(text)
        return next((c for c in screen.choices if reading.fold(c) == wanted), None)
    return text if len(text) <= screen.max_length else None


def _date(text: str) -> str | None:
    """Day first (as written in Latin America and most of the world): 24/12/2026 → 2026-12-24."""
    match = _DATE.match(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None
