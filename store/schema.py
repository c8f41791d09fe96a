"""Creates or migrates the schema at start-up: numbered steps, each run once, in order."""

from __future__ import annotations

import time

from store.db import database, is_postgres
from store.inbound import seen_digest
from store.models import (
    Alert,
    AlertNote,
    Booking,
    Consent,
    Contact,
    ConversationSession,
    DeliveryReport,
    DutyShift,
    InboundMessage,
    InboundSeen,
    KeyFingerprint,
    LimitEvent,
    OptOut,
    OutboxMessage,
    Person,
    SchemaVersion,
    Slot,
    UssdSessionEnd,
)


def _v1_initial() -> None:
    database.create_tables([Person, InboundMessage, UssdSessionEnd, OutboxMessage, DeliveryReport])


def _v2_conversations() -> None:
    database.create_tables([ConversationSession, OptOut])


def _v3_consent_and_contacts() -> None:
    database.create_tables([Consent, Contact])


def _v4_alerts() -> None:
    database.create_tables([Alert, AlertNote])


def _v5_bookings() -> None:
    database.create_tables([Slot, Booking])


def _v6_duty_roster() -> None:
    database.create_tables([DutyShift])


# The daily limits counted until now, so an upgrade does not hand out a fresh day: alerts and drills by
# their person, contact additions by the notices sent (tagged with the person's id).
_LIMITS_SO_FAR = [
    """INSERT INTO limit_event (phone_hash, kind, at)
    SELECT person.phone_hash, CASE WHEN alert.status = 'drill' THEN 'drill' ELSE 'alert' END, alert.created_at
    FROM alert JOIN person ON person.id = alert.person_id WHERE alert.created_at >= {p}""",
    """INSERT INTO limit_event (phone_hash, kind, at)
    SELECT person.phone_hash, 'contact', outbox_message.created_at
    FROM outbox_message JOIN person ON outbox_message.tag = 'contact-notices:' || CAST(person.id AS TEXT)
    WHERE outbox_message.created_at >= {p}""",
]


def _v7_limit_events() -> None:
    database.create_tables([LimitEvent])
    since = time.time() - 86400
    for statement in _LIMITS_SO_FAR:
        database.execute_sql(" ".join(statement.split()).replace("{p}", database.param), (since,))


def _v8_inbound_seen() -> None:
    database.create_tables([InboundSeen])
    # Messages received before the upgrade are still refused as repeats.
    rows = InboundMessage.select(InboundMessage.carrier, InboundMessage.external_id, InboundMessage.received_at)
    for carrier, external_id, received_at in rows.tuples().iterator():
        InboundSeen.insert(digest=seen_digest(carrier, external_id), seen_at=received_at).on_conflict_ignore().execute()


def _v9_key_fingerprint() -> None:
    database.create_tables([KeyFingerprint])


# Append new steps; never edit one that has shipped.
MIGRATIONS = [
    (1, _v1_initial),
    (2, _v2_conversations),
    (3, _v3_consent_and_contacts),
    (4, _v4_alerts),
    (5, _v5_bookings),
    (6, _v6_duty_roster),
    (7, _v7_limit_events),
    (8, _v8_inbound_seen),
    (9, _v9_key_fingerprint),
]


def migrate() -> list[int]:
    """Applies the steps this database has not seen; returns their numbers."""
    applied = []
    with database.atomic():
        if is_postgres():
            # Several processes may start at once: one migrates, the others wait for it.
            database.execute_sql("SELECT pg_advisory_xact_lock(7400413)")
        database.create_tables([SchemaVersion])
        done = {row.version for row in SchemaVersion.select()}
        for version, step in MIGRATIONS:
            if version not in done:
                step()
                SchemaVersion.create(version=version, applied_at=time.time())
                applied.append(version)
    return applied
