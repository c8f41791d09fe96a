"""Inbound queries: who wrote, what they were answered, and how USSD sessions ended."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from store.crypto import Vault, lookup_hash, vault
from store.models import InboundSeen, Person
from store.sql import Statement


@dataclass(frozen=True)
class EarlierAnswer:
    """What a carrier message was answered the first time it came in."""

    text: str | None
    ends: bool


@dataclass(frozen=True)
class KnownPerson:
    """The person behind a number, as a handler needs them, with what the flows ask about them."""

    id: int
    language: str | None
    phone_hash: str
    consented: bool = False
    contacts: int = 0


_EARLIER = Statement("SELECT reply, reply_ends FROM inbound_message WHERE carrier = {p} AND external_id = {p}")

# A message is known while it is kept (inbound_message, by its unique carrier id) and, once gone (the
# retention period, an erasure), by the keyed hash of its id left in its place (inbound_seen): one look-up
# on every webhook, and nothing more to write than the message itself. Of two deliveries of one message at
# once, the second fails on that unique id when recording it, and is answered again as a repeat.
_SEEN = Statement(
    """SELECT 1 FROM inbound_message WHERE carrier = {p} AND external_id = {p}
    UNION ALL SELECT 1 FROM inbound_seen WHERE digest = {p}"""
)
MARKS_AT_ONCE = 500

# A known person costs one look-up and no encryption, which also tells whether they consented and how many
# contacts they have (the flows' facts, asked on every message); a new one is inserted (a racing insert of
# the same person finds the row on conflict). When they were last seen is kept to the day: written on every
# hop it cost a page of the database's log each time, and the hour of each dial is nothing Lifeline needs.
_KNOWN_PERSON = Statement(
    """SELECT id, language, last_seen_at,
        (SELECT COUNT(*) FROM consent WHERE person_id = person.id),
        (SELECT COUNT(*) FROM contact WHERE person_id = person.id)
    FROM person WHERE phone_hash = {p}"""
)
_SEEN_TODAY = Statement("UPDATE person SET last_seen_at = {p} WHERE id = {p}")
SEEN_EVERY_SECONDS = 86400
_NEW_PERSON = Statement(
    """INSERT INTO person (phone_hash, phone, created_at, last_seen_at) VALUES ({p}, {p}, {p}, {p})
    ON CONFLICT (phone_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at
    RETURNING id, language"""
)

# The person may have erased their data in this very message: then the record names nobody.
_RECORD = Statement(
    """INSERT INTO inbound_message
    (carrier, external_id, channel, person_id, text, reply, reply_ends, received_at)
    VALUES ({p}, {p}, {p}, (SELECT id FROM person WHERE id = {p}), {p}, {p}, {p}, {p})"""
)


def first_delivery(carrier: str, external_id: str) -> bool:
    """True the first time this carrier message comes in: neither kept nor marked as seen (record_inbound
    keeps it; leave_marks replaces it by its mark when it goes)."""
    return _SEEN.one(carrier, external_id, seen_digest(carrier, external_id)) is None


def leave_marks(rows) -> None:
    """Before inbound messages are deleted: the mark of each (carrier, external_id, received_at), so a
    replay of one is still refused for the replay window beyond the retention period. Written in chunks:
    a day's purge may leave many, and each statement is a round trip on PostgreSQL."""
    keys = vault()
    marks = ({"digest": seen_digest(c, i, keys), "seen_at": at} for c, i, at in rows)
    while chunk := list(itertools.islice(marks, MARKS_AT_ONCE)):
        InboundSeen.insert_many(chunk).on_conflict_ignore().execute()


def seen_digest(carrier: str, external_id: str, keys: Vault | None = None) -> str:
    """How a carrier message is remembered once processed: a keyed hash, never its id."""
    return (keys or vault()).lookup_hash(f"inbound:{carrier}:{external_id}")


def already_received(carrier: str, external_id: str) -> EarlierAnswer | None:
    """The first answer to this carrier message, while the message is kept (the retention period)."""
    row = _EARLIER.one(carrier, external_id)
    if row is None:
        return None
    reply, ends = row
    return EarlierAnswer(text=vault().decrypt(reply) if reply is not None else None, ends=bool(ends))


# Marks are added in time order (the daily purge's, oldest first), so those before the first mark still in
# the window are the old ones: the look-up reads the rows it then deletes, and no index on seen_at has to be
# kept up. (A mark written out of order, by an erasure, holds back older ones until it is old itself.)
_FORGET_SEEN = Statement(
    """DELETE FROM inbound_seen WHERE id < COALESCE(
        (SELECT id FROM inbound_seen WHERE seen_at >= {p} ORDER BY id LIMIT 1),
        (SELECT MAX(id) + 1 FROM inbound_seen))"""
)


def forget_seen_before(cutoff: float) -> int:
    """Deletes the replay marks of messages first seen before cutoff; returns how many."""
    return _FORGET_SEEN.execute(cutoff).rowcount


def touch_person(phone: str, now: float) -> KnownPerson:
    """The person with this E.164 number, created on first contact; marks them seen now."""
    phone_hash = lookup_hash(phone)
    known = _KNOWN_PERSON.one(phone_hash)
    if known is None:
        # New: no consent and no contacts yet (a racing first message that added some is committed later
        # than this look-up, and its menus are shown as to someone new; the handlers check for themselves).
        person_id, language = _NEW_PERSON.one(phone_hash, vault().encrypt(phone), now, now)
        return KnownPerson(person_id, language, phone_hash)
    person_id, language, last_seen_at, consented, contacts = known
    if now - last_seen_at >= SEEN_EVERY_SECONDS:
        _SEEN_TODAY.execute(now, person_id)
    return KnownPerson(person_id, language, phone_hash, bool(consented), int(contacts))


def set_language(person_id: int, language: str) -> None:
    """The language the person chose."""
    Person.update(language=language).where(Person.id == person_id).execute()


def record_inbound(
    carrier: str,
    external_id: str,
    channel: str,
    person: KnownPerson,
    text: str,
    reply: str | None,
    reply_ends: bool,
    now: float,
) -> None:
    """Keeps the message and its answer; raises IntegrityError if another request recorded it first."""
    encrypt = vault().encrypt
    _RECORD.execute(
        carrier,
        external_id,
        channel,
        person.id,
        encrypt(text),
        encrypt(reply) if reply is not None else None,
        reply_ends,
        now,
    )


# The carrier tells the end of every USSD session: as many of these as of dials.
_USSD_END = Statement(
    """INSERT INTO ussd_session_end (carrier, session_id, status, hops, duration_ms, error_message, recorded_at)
    VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (carrier, session_id) DO NOTHING"""
)


def record_ussd_end(
    carrier: str, session_id: str, status: str, hops: int | None, duration_ms: int | None, error: str | None, now: float
) -> bool:
    """Keeps a USSD end-of-session notification once; False for a repeat."""
    error = error[:255] if error else None
    return _USSD_END.execute(carrier, session_id, status, hops, duration_ms, error, now).rowcount == 1
