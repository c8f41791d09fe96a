"""How typed text is read. Given by the caller, so the pure engine knows no feature and no reference data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    fold: Callable[[str], str]  # two spellings of one word become equal ("Cancelar " → "CANCELAR")
    read_number: Callable[[str, str], str | None]  # (typed text, the person's country) → E.164 or None
