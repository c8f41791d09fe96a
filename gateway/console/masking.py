"""How the console shows a person until an official reveals them: numbers and names masked."""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """ "Maria Lopez" → "M**** L****"."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in (name or "").split())
