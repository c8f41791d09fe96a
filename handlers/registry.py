"""Every handler a flow may name in an `action` screen, by name. `run.py check` refuses unknown names."""

from __future__ import annotations

import functools
from collections.abc import Callable

from handlers import alerts, contacts, duty, language, privacy, profile
from handlers.alerts import AlertPolicy
from handlers.consulates import Directory
from handlers.limits import Limits
from handlers.outcome import Request, Result

Handler = Callable[[Request], Result]


def not_yet_available(request: Request) -> Result:
    """For features a later release fills in: the flow shows a clear 'not yet available' screen."""
    return Result(outcome="unavailable")


def build_handlers(
    directory: Directory | None, alert_policy: AlertPolicy | None, limits: Limits | None
) -> dict[str, Handler]:
    """Every handler by name, bound to the deployment's consulates, alert policy and limits."""
    return {
        "alert.raise": functools.partial(alerts.raise_alert, directory=directory, policy=alert_policy, limits=limits),
        "alert.cancel": functools.partial(alerts.cancel_alert, directory=directory),
        "alert.locate": functools.partial(alerts.locate_alert, directory=directory),
        "alert.behalf": functools.partial(alerts.raise_for, directory=directory, policy=alert_policy, limits=limits),
        "alert.drill": functools.partial(alerts.drill, directory=directory, limits=limits),
        "profile.location": profile.save_location,
        "profile.pins": profile.save_pins,
        "profile.name": profile.save_name,
        "consulate.find": not_yet_available,
        "appointment.book": not_yet_available,
        "consent.record": contacts.record_consent,
        "contacts.list": contacts.list_contacts,
        "contacts.add": functools.partial(contacts.add_contact, limits=limits),
        "contacts.remove": contacts.remove_contact,
        "contacts.sms": functools.partial(contacts.sms_command, limits=limits),
        "data.erase": privacy.erase,
        "duty.command": functools.partial(duty.command, directory=directory),
        "language.set": language.choose,
    }


# The names flows may use (`run.py check` refuses others).
HANDLER_NAMES = frozenset(build_handlers(None, None, None))
