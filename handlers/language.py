"""Choosing the language a person is answered in."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from handlers.outcome import Request, Result
from store import inbound

# What people type after IDIOMA / LANG, folded to plain upper case.
NAMES = {
    "ES": "es",
    "ESP": "es",
    "ESPANOL": "es",
    "SPANISH": "es",
    "CASTELLANO": "es",
    "EN": "en",
    "ENG": "en",
    "ENGLISH": "en",
    "INGLES": "en",
}


def choose(request: Request) -> Result:
    """Saves the language named by the screen's args or typed after the keyword."""
    wanted = request.args.get("language") or request.data.get("language_choice", "")
    code = language_named(wanted, request.languages)
    if code is None:
        return Result(outcome="unknown")
    inbound.set_language(request.person_id, code)
    return Result(outcome="ok", language=code)


def language_named(word: str, languages: Iterable[str]) -> str | None:
    """The code of the language a word names ("ingles", "EN", "es"), if the deployment speaks it."""
    code = NAMES.get(_fold(word), word.strip().lower())
    return code if code in languages else None


def _fold(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return plain.strip().upper()
