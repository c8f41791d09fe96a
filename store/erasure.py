"""Data rights: erase one person on request, and purge old data for everyone after the retention period."""

from __future__ import annotations

import time
from dataclasses import dataclass

from store import bookings, complaints, outbox
from store.crypto import lookup_hash
from store.models import Alert, AlertNote, Booking, ConversationSession, InboundMessage, OutboxMessage, Person

FINAL = [outbox.SENT, outbox.DELIVERED, outbox.UNDELIVERED, outbox.FAILED, outbox.CANCELLED]


def erase_person(person_id: int, now: float | None = None) -> None:
    """Deletes the person's contacts, consent, sessions, messages and number; keeps their past alerts
    and appointments for the consulate's records, anonymised (no person, no free text), and cancels
    their future appointments."""
    person = Person.get_or_none(Person.id == person_id)
    if person is None:
        return
    Alert.update(person=None, note=None, location=None).where(Alert.person == person_id).execute()
    AlertNote.delete().where(AlertNote.author == person.phone_hash).execute()  # their answers to the consulate
    # Nobody would come to an appointment of someone who no longer exists here: the place goes back.
    bookings.cancel_future_of(person_id, time.time() if now is None else now)
    Booking.update(person=None).where(Booking.person == person_id).execute()
    complaints.erase_person(person_id)  # their complaints and feedback are theirs: they go too
    InboundMessage.delete().where(InboundMessage.person == person_id).execute()
    ConversationSession.delete().where(ConversationSession.phone_hash == person.phone_hash).execute()
    # What was sent to them: withdrawn if not gone yet, and the texts deleted.
    OutboxMessage.delete().where(OutboxMessage.to_hash == person.phone_hash).execute()
    person.delete_instance()  # contacts and consent go with it (ON DELETE CASCADE)


@dataclass(frozen=True)
class Purged:
    sessions: int
    inbound: int
    bodies: int


def purge_older_than(cutoff: float, now: float) -> Purged:
    """Expired sessions, inbound messages and the texts of finished outbound messages older than cutoff."""
    sessions = ConversationSession.delete().where(ConversationSession.expires_at <= now).execute()
    inbound = InboundMessage.delete().where(InboundMessage.received_at < cutoff).execute()
    bodies = (
        OutboxMessage.update(body="", purged_at=now)
        .where(
            (OutboxMessage.created_at < cutoff) & OutboxMessage.status.in_(FINAL) & OutboxMessage.purged_at.is_null()
        )
        .execute()
    )
    return Purged(sessions, inbound, bodies)


def person_for(phone: str) -> Person | None:
    return Person.get_or_none(Person.phone_hash == lookup_hash(phone))
