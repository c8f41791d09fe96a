"""Every handler a flow may name in an `action` screen, by name, and the hooks the generic conversation
calls (duty officers' commands, delivery reports, scheduled sends), so the gateway imports no feature.
`run.py check` refuses unknown handler names."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from handlers.consular import appointments, finder
from handlers.consular.appointments import AppointmentPolicy, Booking
from handlers.lifeline import alerts, contacts, duty, feedback, language, nationality, privacy, profile
from handlers.lifeline.alerts import AlertPolicy
from handlers.lifeline.limits import Limits
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Directory
from handlers.reference.services import Service
from handlers.reference.vocabulary import Vocabulary

Handler = Callable[[Request], Result]

# The sections of config/policy.yaml that belong to features, with the dataclass each is read into.
POLICY_SECTIONS: Mapping[str, type] = {"alert": AlertPolicy, "limits": Limits, "appointments": AppointmentPolicy}


@dataclass(frozen=True)
class Features:
    """What the conversation needs from Lifeline's features."""

    handlers: Mapping[str, Handler]
    # (phone, now): a duty phone (of config/consulates.yaml, or on the roster now): its texts go to the officers.
    is_duty_phone: Callable[[str, float], bool]
    # (phone, now): when an officer wrote to this person, if within the reply window (else None): their texts
    # go back to that officer, unless Lifeline asked them something since (a PIN must never go to anyone).
    awaits_answer: Callable[[str, float], float | None]
    # (carrier, provider message id, status, now) → what to send, and whether a message was resent.
    delivery_report: Callable[[str, str, str, float], tuple[list[Outgoing], bool]]
    # now → what scheduled work has to send (escalations, reminders), each claimed once in the store.
    due: Callable[[float], list[Outgoing]]
    # (now, how many urgent messages are overdue) → who is paged about it (routine messages, so a page
    # never counts among the overdue it reports).
    overdue: Callable[[float, int], list[Outgoing]]


def build_features(
    directory: Directory,
    services: tuple[Service, ...],
    policy: Mapping[str, object],
    vocabulary: Vocabulary,
) -> Features:
    """The handlers and hooks, bound to the deployment's consulates, services, policy sections and words."""
    sections = {name: policy.get(name) or cls() for name, cls in POLICY_SECTIONS.items()}
    booking = Booking(directory, services, sections["appointments"], vocabulary)
    duty_phones = directory.duty_phones()
    alert_policy = sections["alert"]

    def is_duty_phone(phone: str, now: float) -> bool:
        return phone in duty_phones or duty.on_roster(phone, now)

    def awaits_answer(phone: str, now: float) -> float | None:
        return alerts.awaits_answer(phone, now, alert_policy)

    def due(now: float) -> list[Outgoing]:
        return (
            alerts.escalations(now, directory, alert_policy, vocabulary)
            + alerts.summaries(now, alert_policy)
            + appointments.reminders(now, booking)
        )

    def overdue(now: float, waiting: int) -> list[Outgoing]:
        return alerts.overdue_pages(waiting, directory)

    handlers = build_handlers(directory, alert_policy, sections["limits"], booking, vocabulary)
    return Features(handlers, is_duty_phone, awaits_answer, alerts.delivery_report, due, overdue)


def build_handlers(
    directory: Directory | None,
    alert_policy: AlertPolicy | None,
    limits: Limits | None,
    booking: Booking | None = None,
    vocabulary: Vocabulary | None = None,
) -> dict[str, Handler]:
    """Every handler by name, bound to the deployment's consulates, services, policy and words."""
    bound = functools.partial
    vocabulary = vocabulary or Vocabulary()
    return {
        "alert.raise": bound(
            alerts.raise_alert, directory=directory, policy=alert_policy, limits=limits, vocabulary=vocabulary
        ),
        "alert.cancel": bound(alerts.cancel_alert, directory=directory),
        "alert.locate": bound(alerts.locate_alert, directory=directory, vocabulary=vocabulary),
        "alert.answer": bound(alerts.answer_consulate, policy=alert_policy or AlertPolicy()),
        "alert.behalf": bound(
            alerts.raise_for, directory=directory, policy=alert_policy, limits=limits, vocabulary=vocabulary
        ),
        "alert.drill": bound(alerts.drill, directory=directory, limits=limits),
        "profile.location": profile.save_location,
        "profile.pins": profile.save_pins,
        "profile.pins_start": profile.start_pins,
        "profile.pin_check": bound(profile.check_current_pin, limits=limits, directory=directory),
        "profile.name": profile.save_name,
        "consulate.offer": bound(finder.offer, directory=directory),
        "consulate.find": bound(finder.find, directory=directory, vocabulary=vocabulary),
        "consulate.more": bound(finder.more, directory=directory, vocabulary=vocabulary),
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
        "consent.decline": privacy.decline,
        "contacts.list": contacts.list_contacts,
        "contacts.add": bound(contacts.add_contact, limits=limits, directory=directory, vocabulary=vocabulary),
        "contacts.remove": contacts.remove_contact,
        "contacts.choices": contacts.list_choices,
        "contacts.sms": bound(contacts.sms_command, limits=limits, vocabulary=vocabulary, directory=directory),
        "contacts.read_phone": bound(contacts.read_phone, directory=directory, vocabulary=vocabulary),
        "contacts.pick_country": contacts.pick_country,
        "contacts.sms_country": bound(contacts.sms_country, limits=limits, directory=directory, vocabulary=vocabulary),
        "data.erase": bound(privacy.erase, directory=directory),
        "duty.command": bound(duty.command, directory=directory, words=duty.CommandWords(vocabulary.duty_words)),
        "language.set": bound(language.choose, vocabulary=vocabulary),
        "feedback.complaint": bound(feedback.submit, kind="complaint"),
        "feedback.comment": bound(feedback.submit, kind="feedback"),
        "nationality.set": bound(nationality.choose, directory=directory, vocabulary=vocabulary),
        "nationality.other": bound(nationality.unserved, directory=directory),
    }


# The names flows may use (`run.py check` refuses others).
HANDLER_NAMES = frozenset(build_handlers(None, None, None))
