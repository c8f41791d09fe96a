"""Recognising a person by the name someone else types for them ("ALERTA POR juan perez")."""

from __future__ import annotations

from rapidfuzz.distance import OSA

from handlers.reference.text import words


def names_match(typed: str, name: str) -> bool:
    """Every word typed is one of the name's words ("Juan" or "Juan Perez" for "Juan Carlos Pérez"),
    allowing one wrong letter in a word of five letters or more."""
    wanted, known = words(typed), words(name)
    return bool(wanted) and all(any(_close(w, word) for word in known) for w in wanted)


def _close(typed: str, word: str) -> bool:
    if typed == word:
        return True
    if min(len(typed), len(word)) < 5:
        return False
    return OSA.distance(typed, word, score_cutoff=1) <= 1  # one wrong, missing, extra or swapped letter
