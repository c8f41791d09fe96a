"""The alert desk, for the console: open alerts in an account's scope, one alert's timeline, and the
actions a duty officer has by SMS (acknowledge, reply, note, close) plus reopen, with the same effects,
attributed to the account."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.lifeline.alerts import later_tag_of, tag_of
from handlers.outcome import Outgoing, Result
from handlers.reference.consulates import Consulate, Directory
from store import alerts, audit, outbox, people, roster
from store.alerts import DeskAlert, Note
from store.crypto import lookup_hash

VERBS = ("ack", "reply", "note", "close", "reopen")
MAX_TEXT = 300  # a reply travels as SMS: keep it to two segments


@dataclass(frozen=True)
class Event:
    """One line of an alert's timeline."""

    at: float
    kind: str  # raised, relay, acknowledged, escalated, duress, pin_tries, duress_earlier, cancelled, closed, note
    who: str | None = None  # a number (shown masked unless revealed), or an account's email
    role: str | None = None  # contact, duty, person, other (relays)
    provider: str | None = None
    status: str | None = None
    reports: tuple[str, ...] = ()
    text: str | None = None  # a note's text


@dataclass(frozen=True)
class AlertView:
    alert: DeskAlert
    office: str  # the consulate's (or central's) name
    time_zone: str  # the office's: times are shown on its clock
    events: list[Event]


def actor_key(email: str) -> str:
    """What an alert records as who acted from the console (as a phone is recorded for SMS)."""
    return f"console:{email}"


def in_scope(alert: DeskAlert, scope: tuple[str, ...] | None) -> bool:
    return scope is None or alert.consulate in scope


def open_alerts(scope: tuple[str, ...] | None) -> list[DeskAlert]:
    """Open alerts in scope, newest first."""
    return alerts.open_for_desk(scope)


def alert_view(
    reference: str, scope: tuple[str, ...] | None, directory: Directory, emails: list[str]
) -> AlertView | None:
    """The alert and its timeline; None when unknown or out of the account's scope."""
    alert = alerts.for_desk(reference)
    if alert is None or not in_scope(alert, scope):
        return None
    office = directory.by_id(alert.consulate) or directory.central_for(alert.consulate)
    authors = {lookup_hash(actor_key(email)): email for email in emails}
    events = [Event(alert.created_at, "raised", who=alert.phone)]
    if alert.acknowledged_at:
        events.append(Event(alert.acknowledged_at, "acknowledged", who=authors.get(alert.acknowledged_by)))
    if alert.duress_reason == alerts.EARLIER:
        events.append(Event(alert.created_at, "duress_earlier"))
    for at, kind in (
        (alert.escalated_at, "escalated"),
        (alert.duress_at, "pin_tries" if alert.duress_reason == alerts.PIN_TRIES else "duress"),
        (alert.cancelled_at, "cancelled"),
        (alert.closed_at, "closed"),
    ):
        if at:
            events.append(Event(at, kind))
    events += [Event(n.written_at, "note", who=authors.get(n.author), text=n.text) for n in _notes(reference)]
    roles = _roles(alert, office)
    for sent in outbox.history([tag_of(alert.reference), later_tag_of(alert.reference)]):
        events.append(
            Event(
                sent.sent_at or sent.created_at,
                "relay",
                who=sent.to,
                role=roles.get(sent.to, "other"),
                provider=sent.provider,
                status=sent.status,
                reports=sent.reports,
            )
        )
    events.sort(key=lambda e: e.at)
    return AlertView(alert, getattr(office, "short_name", None) or office.name, office.time_zone, events)


def _notes(reference: str) -> list[Note]:
    return alerts.notes_of(reference)


def _roles(alert: DeskAlert, office) -> dict[str, str]:
    roles = {}
    if isinstance(office, Consulate):
        for phone in (*office.duty_phones, *office.backup_phones, *roster.on_duty(office.id, alert.created_at)):
            roles[phone] = "duty"
    row = alerts.by_reference(alert.reference)
    if row is not None and row.person_id:
        for contact in people.contacts_of(row.person_id):
            roles[contact.phone] = "contact"
    if alert.phone:
        roles[alert.phone] = "person"
    return roles


def act(reference: str, verb: str, email: str, text: str, scope: tuple[str, ...] | None, now: float) -> Result:
    """Does what the duty officer's SMS command does, for an account: outcome "done", "empty" (a reply or
    note without text), "not_found" (unknown or out of scope) or "unchanged"."""
    desk = alerts.for_desk(reference)
    if desk is None or not in_scope(desk, scope) or verb not in VERBS:
        return Result(outcome="not_found")
    alert = alerts.by_reference(reference)
    values = {"ref": alert.reference}
    who = actor_key(email)
    text = " ".join((text or "").split())[:MAX_TEXT]
    # Cancelled under duress: nothing reaches the phone, which was shown the alert cancelled.
    person = alerts.phone_of_raiser(alert) if alert.person_id and not alerts.under_duress(alert) else None
    if verb == "ack":
        first = alerts.acknowledge(alert, who, now)
        told = (
            (
                Outgoing(
                    person[0], "alert.acknowledged", values, person[1], tag=later_tag_of(alert.reference), urgent=True
                ),
            )
            if first and person
            else ()
        )
        return Result(outcome="done" if first else "unchanged", values=values, outgoing=told)
    if verb in ("reply", "note") and not text:
        return Result(outcome="empty", values=values)
    if verb == "reply":
        if person is None:
            return Result(outcome="unchanged", values=values)  # the person erased themselves, or under duress
        reply = Outgoing(
            person[0], "alert.reply", {**values, "reply": text}, person[1], tag=later_tag_of(alert.reference)
        )
        return Result(outcome="done", values=values, outgoing=(reply,))
    if verb == "note":
        alerts.add_note(alert, who, text, now)
        return Result(outcome="done", values=values)
    if verb == "close":
        alerts.close(alert, now)
        return Result(outcome="done", values=values)
    return Result(outcome="done" if alerts.reopen(alert, now) else "unchanged", values=values)


def act_audited(reference: str, verb: str, email: str, text: str, scope: tuple[str, ...] | None, now: float) -> Result:
    """`act`, written to the audit trail in the same transaction when it changed something."""
    result = act(reference, verb, email, text, scope, now)
    if result.outcome == "done":
        audit.append(email, f"alert.{verb}", reference.upper(), f"{len(text or '')} characters" if text else "", now)
    return result
