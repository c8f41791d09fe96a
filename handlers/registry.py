"""Every handler a flow may name in an `action` screen, by name. `run.py check` refuses unknown names."""

from __future__ import annotations

from collections.abc import Callable

from handlers import language
from handlers.outcome import Request, Result

Handler = Callable[[Request], Result]


def not_yet_available(request: Request) -> Result:
    """For features a later release fills in: the flow shows a clear 'not yet available' screen."""
    return Result(outcome="unavailable")


HANDLERS: dict[str, Handler] = {
    "alert.raise": not_yet_available,
    "alert.cancel": not_yet_available,
    "consulate.find": not_yet_available,
    "appointment.book": not_yet_available,
    "contacts.list": not_yet_available,
    "contacts.add": not_yet_available,
    "contacts.remove": not_yet_available,
    "data.erase": not_yet_available,
    "language.set": language.choose,
}
