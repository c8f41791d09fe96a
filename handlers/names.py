"""Recognising a person by the name someone else types for them ("ALERTA POR juan perez")."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents or punctuation: "José-Luis" → "jose luis"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in plain.lower()).split())


def names_match(typed: str, name: str) -> bool:
    """Every word typed is one of the name's words ("Juan" or "Juan Perez" for "Juan Carlos Pérez"),
    allowing one wrong letter in a word of five letters or more."""
    wanted, words = fold(typed).split(), fold(name).split()
    return bool(wanted) and all(any(_close(w, word) for word in words) for w in wanted)


def _close(typed: str, word: str) -> bool:
    if typed == word:
        return True
    if min(len(typed), len(word)) < 5 or abs(len(typed) - len(word)) > 1:
        return False
    return _one_edit(typed, word)


def _one_edit(a: str, b: str) -> bool:
    """True when a becomes b by one substitution, insertion or deletion."""
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]
