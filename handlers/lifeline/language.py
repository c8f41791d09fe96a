"""Choosing the language a person is answered in."""

from __future__ import annotations

from handlers.outcome import Request, Result
from handlers.reference.vocabulary import Vocabulary
from store import inbound


def choose(request: Request, vocabulary: Vocabulary) -> Result:
    """Saves the language named by the screen's args or typed after the keyword."""
    wanted = request.args.get("language") or request.data.get("language_choice", "")
    code = vocabulary.language_named(wanted)
    if code is None:
        return Result(outcome="unknown")
    inbound.set_language(request.person_id, code)
    return Result(outcome="ok", language=code)
