"""Every handler a flow may name in an `action` screen, by name. `run.py check` refuses unknown names."""

from __future__ import annotations

import functools
from collections.abc import Callable

from handlers import alerts, appointments, contacts, duty, finder, language, nationality, privacy, profile
from handlers.alerts import AlertPolicy
from handlers.appointments import Booking
from handlers.consulates import Directory
from handlers.limits import Limits
from handlers.outcome import Request, Result

Handler = Callable[[Request], Result]


def build_handlers(
    directory: Directory | None,
    alert_policy: AlertPolicy | None,
    limits: Limits | None,
    booking: Booking | None = None,
) -> dict[str, Handler]:
    """Every handler by name, bound to the deployment's consulates, services and policy."""
    bound = functools.partial
    return {
        "alert.raise": functools.partial(alerts.raise_alert, directory=directory, policy=alert_policy, limits=limits),
        "alert.cancel": functools.partial(alerts.cancel_alert, directory=directory),
        "alert.locate": functools.partial(alerts.locate_alert, directory=directory),
        "alert.behalf": functools.partial(alerts.raise_for, directory=directory, policy=alert_policy, limits=limits),
        "alert.drill": functools.partial(alerts.drill, directory=directory, limits=limits),
        "profile.location": profile.save_location,
        "profile.pins": profile.save_pins,
        "profile.name": profile.save_name,
        "consulate.offer": finder.offer,
        "consulate.find": bound(finder.find, directory=directory),
        "consulate.more": bound(finder.more, directory=directory),
        "appointment.start": bound(appointments.start, booking=booking),
        "appointment.services": bound(appointments.list_services, booking=booking),
        "appointment.service": bound(appointments.choose_service, booking=booking),
        "appointment.consulates": bound(appointments.list_consulates, booking=booking),
        "appointment.consulate": bound(appointments.choose_consulate, booking=booking),
        "appointment.here": bound(appointments.here, booking=booking),
        "appointment.days": bound(appointments.list_days, booking=booking),
        "appointment.day": bound(appointments.choose_day, booking=booking),
        "appointment.slots": bound(appointments.list_slots, booking=booking),
        "appointment.slot": bound(appointments.choose_slot, booking=booking),
        "appointment.book": bound(appointments.book, booking=booking),
        "appointment.cancel": bound(appointments.cancel, booking=booking),
        "appointment.reschedule": bound(appointments.reschedule, booking=booking),
        "consent.record": contacts.record_consent,
        "contacts.list": contacts.list_contacts,
        "contacts.add": functools.partial(contacts.add_contact, limits=limits),
        "contacts.remove": contacts.remove_contact,
        "contacts.sms": functools.partial(contacts.sms_command, limits=limits),
        "data.erase": privacy.erase,
        "duty.command": functools.partial(duty.command, directory=directory),
        "language.set": language.choose,
        "nationality.set": bound(nationality.choose, directory=directory),
    }


# The names flows may use (`run.py check` refuses others).
HANDLER_NAMES = frozenset(build_handlers(None, None, None))
