"""Text as people type it on a keypad, made comparable: the one folding rule every look-up uses."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Upper case, accents dropped, single spaces: "  José  Pérez" → "JOSE PEREZ". Punctuation stays;
    `words` splits on it."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.upper().split())


def words(text: str) -> list[str]:
    """The folded words of a text, punctuation separating them: "José-Luis" → ["JOSE", "LUIS"]."""
    return "".join(ch if ch.isalnum() else " " for ch in fold(text)).split()
