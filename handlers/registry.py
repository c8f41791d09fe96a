"""Every handler a flow may name in an `action` screen, by name. `run.py check` refuses unknown names."""

from __future__ import annotations

from collections.abc import Callable

from handlers import contacts, language
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
    "consent.record": contacts.record_consent,
    "contacts.list": contacts.list_contacts,
    "contacts.add": contacts.add_contact,
    "contacts.remove": contacts.remove_contact,
    "contacts.sms": contacts.sms_command,
    "data.erase": not_yet_available,
    "language.set": language.choose,
}
