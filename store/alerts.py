"""Alerts: raised, updated by a repeat press, cancelled."""

from __future__ import annotations

import secrets

import peewee

from store.crypto import lookup_hash
from store.models import Alert, AlertNote, Person

# Letters and digits nobody confuses on a small screen or reads wrongly over the phone:
# no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
REFERENCE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
REFERENCE_LENGTH = 4

OPEN, CANCELLED, CLOSED = "open", "cancelled", "closed"
DRILL = "drill"  # a practice alert: never open, never paged to a consulate


def open_alert_of(person_id: int) -> Alert | None:
    """The person's alert that is still open, if any."""
    return (
        Alert.select()
        .where((Alert.person == person_id) & (Alert.status == OPEN))
        .order_by(Alert.created_at.desc())
        .first()
    )


def raise_alert(person_id: int, note: str | None, consulate: str, now: float, status: str = OPEN) -> Alert:
    """A new alert (open, or a drill) with a fresh short reference."""
    for _ in range(20):
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        try:
            with Alert._meta.database.atomic():  # a savepoint: a taken reference is retried
                return Alert.create(
                    reference=reference,
                    person=person_id,
                    status=status,
                    note=note,
                    consulate=consulate,
                    created_at=now,
                    updated_at=now,
                )
        except peewee.IntegrityError:
            continue
    raise RuntimeError("no free alert reference after 20 tries")


def record_update(alert: Alert, note: str | None, update_sent: bool, now: float) -> None:
    """A repeat press: new free text, and whether an update went out."""
    changes = {Alert.updated_at: now}
    if note:
        changes[Alert.note] = note
    if update_sent:
        changes[Alert.update_sent_at] = now
    Alert.update(changes).where(Alert.id == alert.id).execute()


def record_told(alert: Alert, contacts: int) -> None:
    Alert.update(contacts_told=contacts).where(Alert.id == alert.id).execute()


def cancel(alert: Alert, now: float) -> None:
    Alert.update(status=CANCELLED, cancelled_at=now, updated_at=now).where(Alert.id == alert.id).execute()


def by_reference(reference: str) -> Alert | None:
    return Alert.get_or_none(Alert.reference == reference.upper())


def phone_of_raiser(alert: Alert) -> tuple[str, str | None]:
    """(number, chosen language) of the person who raised the alert."""
    person = Person.get_by_id(alert.person_id)
    return person.phone, person.language


def acknowledge(alert: Alert, by_phone: str, now: float) -> bool:
    """Records the first acknowledgement; False if the alert was already acknowledged."""
    return bool(
        Alert.update(acknowledged_at=now, acknowledged_by=lookup_hash(by_phone), updated_at=now)
        .where((Alert.id == alert.id) & Alert.acknowledged_at.is_null())
        .execute()
    )


def add_note(alert: Alert, by_phone: str, text: str, now: float) -> None:
    AlertNote.create(alert=alert.id, author=lookup_hash(by_phone), text=text, written_at=now)


def close(alert: Alert, now: float) -> None:
    Alert.update(status=CLOSED, closed_at=now, updated_at=now).where(Alert.id == alert.id).execute()


def due_for_escalation(now: float, after_seconds: float) -> list[Alert]:
    """Open alerts nobody acknowledged within after_seconds, not yet escalated."""
    return list(
        Alert.select().where(
            (Alert.status == OPEN)
            & Alert.acknowledged_at.is_null()
            & Alert.escalated_at.is_null()
            & (Alert.created_at <= now - after_seconds)
        )
    )


def mark_escalated(alert: Alert, now: float) -> bool:
    """Claims the escalation once, even with several server processes."""
    return bool(Alert.update(escalated_at=now).where((Alert.id == alert.id) & Alert.escalated_at.is_null()).execute())


def set_location(alert: Alert, location: str, now: float) -> None:
    Alert.update(location=location, updated_at=now).where(Alert.id == alert.id).execute()


def claim_followup(alert: Alert, now: float) -> bool:
    """True the first time only: the person gets one delivery summary."""
    return bool(
        Alert.update(followup_sent_at=now).where((Alert.id == alert.id) & Alert.followup_sent_at.is_null()).execute()
    )


def record_duress(alert: Alert, now: float) -> None:
    """The alert stays open; the consulate knows the cancel was forced."""
    Alert.update(duress_at=now, updated_at=now).where(Alert.id == alert.id).execute()
