"""The person's right to erasure (BORRAR / DELETE)."""

from __future__ import annotations

from handlers.outcome import Request, Result
from store import erasure


def erase(request: Request) -> Result:
    """Erases everything about the person; past alerts stay with the consulate, anonymised."""
    erasure.erase_person(request.person_id)
    return Result(outcome="erased")
