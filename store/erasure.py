"""Data rights: erase one person on request, and purge old data for everyone after the retention period."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import phonenumbers

from store import bookings, complaints, outbox
from store.crypto import lookup_hash, vault
from store.db import database
from store.inbound import leave_marks
from store.models import (
    Alert,
    AlertNote,
    Booking,
    Complaint,
    Contact,
    ConversationSession,
    InboundMessage,
    OutboxMessage,
    Person,
)
from store.sql import Statement

FINAL = [outbox.SENT, outbox.DELIVERED, outbox.UNDELIVERED, outbox.FAILED, outbox.CANCELLED]

# What stands for an erased person's number or name in a text kept for someone else.
ERASED = "[borrado]"
# Between the digits of a number as people write it: "+1 (713) 555-0142", "713.555.0142".
_SEP = r"[\s().\-]*"


class Mentions:
    """Finds an erased person in a text: their number in any common form (E.164, digits only, national,
    with 00/011 or a trunk prefix, spaced or bracketed) and their full name as they gave it."""

    def __init__(self, phone: str, name: str | None):
        try:
            parsed = phonenumbers.parse(phone)
            country, national = str(parsed.country_code), str(parsed.national_number)
        except phonenumbers.NumberParseException:
            country, national = "", phone.lstrip("+")
        prefix = rf"(?:(?:\+|00|011){_SEP})?(?:{country}{_SEP})?(?:(?:044|045|01|0|1){_SEP})?"
        self._number = re.compile(rf"(?<!\d){prefix}\(?{_SEP.join(national)}(?!\d)")
        words = (name or "").split()
        full = r"\s+".join(map(re.escape, words))
        # A name of one or two letters would erase common words ("al") from everyone's texts.
        self._name = re.compile(rf"(?<!\w){full}(?!\w)", re.IGNORECASE) if len("".join(words)) >= 3 else None

    def scrub_number(self, text: str) -> str:
        return self._number.sub(ERASED, text)

    def scrub(self, text: str) -> str:
        """The text without the number or the name."""
        text = self.scrub_number(text)
        return self._name.sub(ERASED, text) if self._name else text


def erase_person(person_id: int, now: float | None = None, tags: tuple[str, ...] = ()) -> None:
    """Deletes the person's contacts, consent, sessions, messages and number; keeps their past alerts
    and appointments for the consulate's records, anonymised (no person, no free text), and cancels
    their future appointments. What was sent about them to others (the outbox groups in tags: their
    alerts' relays) is withdrawn if not gone yet, its texts emptied; and every text kept for anyone else
    loses their number and name at once, not at the purge."""
    person = Person.get_or_none(Person.id == person_id)
    if person is None:
        return
    now = time.time() if now is None else now
    mentions = Mentions(person.phone, person.name)
    Alert.update(person=None, note=None, location=None).where(Alert.person == person_id).execute()
    AlertNote.delete().where(AlertNote.author == person.phone_hash).execute()  # their answers to the consulate
    # Nobody would come to an appointment of someone who no longer exists here: the place goes back.
    bookings.cancel_future_of(person_id, now)
    Booking.update(person=None).where(Booking.person == person_id).execute()
    complaints.erase_person(person_id)  # their complaints and feedback are theirs: they go too
    _forget_inbound(InboundMessage.person == person_id)
    ConversationSession.delete().where(ConversationSession.phone_hash == person.phone_hash).execute()
    # What was sent to them: withdrawn if not gone yet, and the texts deleted.
    OutboxMessage.delete().where(OutboxMessage.to_hash == person.phone_hash).execute()
    if tags:
        # Their alerts' relays and news to contacts and consulate phones: what has not left is withdrawn (an
        # open alert's consulate is told of the erasure instead, by the caller), and every text emptied, as
        # the purge would do later: they are the alert's note, place, name and number. Those to their
        # contacts go entirely: kept with the case's reference, the family's numbers would say whose it was.
        family = Contact.select(Contact.phone_hash).where(Contact.person == person_id)
        OutboxMessage.delete().where(OutboxMessage.tag.in_(list(tags)) & OutboxMessage.to_hash.in_(family)).execute()
        outbox.withdraw_all(list(tags), now)
        OutboxMessage.update(body="", purged_at=now).where(
            OutboxMessage.tag.in_(list(tags)) & OutboxMessage.purged_at.is_null()
        ).execute()
    _scrub_texts(mentions, now)
    person.delete_instance()  # contacts and consent go with it (ON DELETE CASCADE)


def holds_records(person_id: int) -> bool:
    """Whether the person has an alert (or drill), an appointment or a complaint here."""
    return any(model.select().where(model.person == person_id).exists() for model in (Alert, Booking, Complaint))


def _scrub_texts(mentions: Mentions, now: float) -> None:
    """Every other text that may name the person: sent texts, what others wrote (ALERTA POR, a contact
    added), the screens they were shown, officers' notes, complaints, other alerts' notes, open sessions.

    A text still waiting to leave is someone else's message: an urgent one (another person's alert that
    mentions this number) still goes, without the number; a routine one that holds the number (the notice
    to a new contact, a drill) is withdrawn, it is only about the erased person. Only the number is looked
    for in texts still to leave: a name alone may be someone else's.

    Every kept text is decrypted once, inside the person's BORRAR (one transaction: all of it or none):
    raw statements, not peewee models: 0.4-0.9 s for 40,000 kept texts on a shared 2-core machine.
    """
    decrypt, encrypt = vault().decrypt, vault().encrypt
    for row_id, body, status, deadline_at in _OUTBOX_TEXTS.execute().fetchall():
        text = decrypt(body)
        leaving = status in (outbox.PENDING, outbox.SENDING)
        scrubbed = mentions.scrub_number(text) if leaving else mentions.scrub(text)
        if scrubbed == text:
            continue
        if status == outbox.PENDING and deadline_at is None:
            _WITHDRAW_ONE.execute(outbox.CANCELLED, encrypt(""), now, now, row_id, outbox.PENDING)
        else:
            _SCRUB_BODY.execute(encrypt(scrubbed), row_id)
    for table, columns in _KEPT_TEXTS:
        listed = ", ".join(columns)
        for row_id, *values in database.execute_sql(f"SELECT id, {listed} FROM {table}").fetchall():
            changed = {}
            for column, value in zip(columns, values, strict=True):
                text = decrypt(value) if value is not None else ""
                if text and mentions.scrub(text) != text:
                    changed[column] = encrypt(mentions.scrub(text))
            if changed:
                sets = ", ".join(f"{column} = {{p}}" for column in changed)
                Statement(f"UPDATE {table} SET {sets} WHERE id = {{p}}").execute(*changed.values(), row_id)


_OUTBOX_TEXTS = Statement("SELECT id, body, status, deadline_at FROM outbox_message WHERE purged_at IS NULL")
_WITHDRAW_ONE = Statement(
    """UPDATE outbox_message SET status = {p}, body = {p}, purged_at = {p}, updated_at = {p}
    WHERE id = {p} AND status = {p}"""
)
_SCRUB_BODY = Statement("UPDATE outbox_message SET body = {p} WHERE id = {p}")

# Free text kept for others than the person (the outbox is read above), as (table, encrypted columns);
# numbers kept on purpose (a contact another person registered, duty phones) are not texts and stay.
_KEPT_TEXTS = (
    ("inbound_message", ("text", "reply")),
    ("alert_note", ("text",)),
    ("complaint_message", ("text",)),
    ("alert", ("note", "location")),
    ("conversation_session", ("state",)),
)


@dataclass(frozen=True)
class Purged:
    sessions: int
    inbound: int
    bodies: int


def purge_older_than(cutoff: float, now: float) -> Purged:
    """Expired sessions, inbound messages and the texts of finished outbound messages older than cutoff."""
    sessions = ConversationSession.delete().where(ConversationSession.expires_at <= now).execute()
    inbound = _forget_inbound(InboundMessage.received_at < cutoff)
    bodies = (
        OutboxMessage.update(body="", purged_at=now)
        .where(
            (OutboxMessage.created_at < cutoff) & OutboxMessage.status.in_(FINAL) & OutboxMessage.purged_at.is_null()
        )
        .execute()
    )
    return Purged(sessions, inbound, bodies)


def _forget_inbound(which) -> int:
    """Deletes these inbound messages, leaving the mark that refuses a replay of each; returns how many."""
    gone = InboundMessage.select(InboundMessage.carrier, InboundMessage.external_id, InboundMessage.received_at)
    leave_marks(gone.where(which).order_by(InboundMessage.id).tuples().iterator())
    return InboundMessage.delete().where(which).execute()


def person_for(phone: str) -> Person | None:
    return Person.get_or_none(Person.phone_hash == lookup_hash(phone))
