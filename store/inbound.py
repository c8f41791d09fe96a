"""Inbound queries: who wrote, what they were answered, and how USSD sessions ended."""

from __future__ import annotations

from store.crypto import lookup_hash
from store.db import inserted_one
from store.models import InboundMessage, Person, UssdSessionEnd


def already_received(carrier: str, external_id: str) -> InboundMessage | None:
    """The earlier record of this carrier message, if it was already processed."""
    return InboundMessage.get_or_none((InboundMessage.carrier == carrier) & (InboundMessage.external_id == external_id))


def touch_person(phone: str, now: float) -> Person:
    """The person with this E.164 number, created on first contact; marks them seen now."""
    phone_hash = lookup_hash(phone)
    person = Person.get_or_none(Person.phone_hash == phone_hash)
    if person is None:
        return Person.create(phone_hash=phone_hash, phone=phone, created_at=now, last_seen_at=now)
    Person.update(last_seen_at=now).where(Person.id == person.id).execute()
    return person


def record_inbound(
    carrier: str,
    external_id: str,
    channel: str,
    person: Person,
    text: str,
    reply: str | None,
    reply_ends: bool,
    now: float,
) -> None:
    """Keeps the message and its answer; raises IntegrityError if another request recorded it first."""
    InboundMessage.create(
        carrier=carrier,
        external_id=external_id,
        channel=channel,
        person=person,
        text=text,
        reply=reply,
        reply_ends=reply_ends,
        received_at=now,
    )


def record_ussd_end(
    carrier: str, session_id: str, status: str, hops: int | None, duration_ms: int | None, error: str | None, now: float
) -> bool:
    """Keeps a USSD end-of-session notification once; False for a repeat."""
    return inserted_one(
        UssdSessionEnd.insert(
            carrier=carrier,
            session_id=session_id,
            status=status,
            hops=hops,
            duration_ms=duration_ms,
            error_message=error[:255] if error else None,
            recorded_at=now,
        ).on_conflict_ignore()
    )
