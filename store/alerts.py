"""Alerts: raised, updated by a repeat press, cancelled."""

from __future__ import annotations

import secrets

import peewee

from store.models import Alert

# Letters and digits nobody confuses on a small screen or reads wrongly over the phone:
# no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
REFERENCE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
REFERENCE_LENGTH = 4

OPEN, CANCELLED, CLOSED = "open", "cancelled", "closed"


def open_alert_of(person_id: int) -> Alert | None:
    """The person's alert that is still open, if any."""
    return (
        Alert.select()
        .where((Alert.person == person_id) & (Alert.status == OPEN))
        .order_by(Alert.created_at.desc())
        .first()
    )


def raise_alert(person_id: int, note: str | None, consulate: str, now: float) -> Alert:
    """A new open alert with a fresh short reference."""
    for _ in range(20):
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        try:
            with Alert._meta.database.atomic():  # a savepoint: a taken reference is retried
                return Alert.create(
                    reference=reference,
                    person=person_id,
                    status=OPEN,
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
