"""Creates or migrates the schema at start-up: numbered steps, each run once, in order."""

from __future__ import annotations

import time

from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as alter

from store import fingerprint, rotation
from store.crypto import vault
from store.db import database, is_postgres
from store.inbound import seen_digest
from store.models import (
    Account,
    Alert,
    AlertNote,
    AlertReply,
    ApiRequestCount,
    ApiToken,
    AuditEntry,
    Booking,
    Complaint,
    ComplaintMessage,
    Consent,
    ConsoleSession,
    Contact,
    ConversationSession,
    DeliveryReport,
    DutyShift,
    InboundMessage,
    InboundSeen,
    KeyFingerprint,
    LimitEvent,
    LoginFailure,
    OptOut,
    OutboxAlarm,
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


def _add_missing_columns(model, *fields) -> None:
    """Adds columns a table made before them lacks (step 1 creates tables from today's models)."""
    table = model._meta.table_name
    present = {column.name for column in database.get_columns(table)}
    migrator = SchemaMigrator.from_database(database.obj)
    alter(*(migrator.add_column(table, f.column_name, f) for f in fields if f.column_name not in present))


def _v7_urgent_messages() -> None:
    _add_missing_columns(OutboxMessage, OutboxMessage.first_due_at, OutboxMessage.deadline_at)
    database.create_tables([OutboxAlarm])


def _v8_console() -> None:
    database.create_tables([Account, ConsoleSession, LoginFailure, AuditEntry, ApiToken])


def _v9_complaints() -> None:
    database.create_tables([Complaint, ComplaintMessage])


def _v10_alert_replies() -> None:
    database.create_tables([AlertReply])


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


def _v11_limit_events() -> None:
    database.create_tables([LimitEvent])
    since = time.time() - 86400
    for statement in _LIMITS_SO_FAR:
        database.execute_sql(" ".join(statement.split()).replace("{p}", database.param), (since,))


def _v12_inbound_seen() -> None:
    database.create_tables([InboundSeen])
    # Messages received before the upgrade are still refused as repeats.
    rows = InboundMessage.select(InboundMessage.carrier, InboundMessage.external_id, InboundMessage.received_at)
    for carrier, external_id, received_at in rows.tuples().iterator():
        InboundSeen.insert(digest=seen_digest(carrier, external_id), seen_at=received_at).on_conflict_ignore().execute()


def _v13_key_fingerprint() -> None:
    database.create_tables([KeyFingerprint])


def _v14_aes_gcm() -> None:
    """Values written as Fernet tokens are re-encrypted with AES-GCM (ten times cheaper to read), with the
    same key. The key is checked first: a wrong key must be refused, not leave half the rows unread."""
    fingerprint.verify(time.time())
    rotation.upgrade_ciphertexts(vault())


def _v15_person_nationality() -> None:
    # Person.nationality came with step 5's release but no step added it: databases made before then lack it.
    _add_missing_columns(Person, Person.nationality)


def _v16_api_request_counts() -> None:
    database.create_tables([ApiRequestCount])


def _v17_duress_reason() -> None:
    _add_missing_columns(Alert, Alert.duress_reason)
    _add_missing_columns(Person, Person.pins_hidden_at)
    # Before this step only the emergency PIN (or three wrong PINs, not told apart) set duress_at.
    Alert.update(duress_reason="pin").where(Alert.duress_at.is_null(False) & Alert.duress_reason.is_null()).execute()


def _v18_midway_sessions() -> None:
    # The look-up on every dial for a USSD session dropped mid-way (store/sessions.py) reads only these.
    database.execute_sql(
        """CREATE INDEX IF NOT EXISTS conversation_session_midway
        ON conversation_session (phone_hash, updated_at) WHERE channel = 'ussd' AND NOT ended"""
    )


def _v19_unindexed_seen_at() -> None:
    # The replay marks are purged in insertion order (store/inbound.py): their seen_at index only cost a
    # write on every webhook.
    database.execute_sql("DROP INDEX IF EXISTS inbound_seen_seen_at")


# Append new steps; never edit one that has shipped.
MIGRATIONS = [
    (1, _v1_initial),
    (2, _v2_conversations),
    (3, _v3_consent_and_contacts),
    (4, _v4_alerts),
    (5, _v5_bookings),
    (6, _v6_duty_roster),
    (7, _v7_urgent_messages),
    (8, _v8_console),
    (9, _v9_complaints),
    (10, _v10_alert_replies),
    (11, _v11_limit_events),
    (12, _v12_inbound_seen),
    (13, _v13_key_fingerprint),
    (14, _v14_aes_gcm),
    (15, _v15_person_nationality),
    (16, _v16_api_request_counts),
    (17, _v17_duress_reason),
    (18, _v18_midway_sessions),
    (19, _v19_unindexed_seen_at),
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
