"""Creates or migrates the schema at start-up: numbered steps, each run once, in order."""

from __future__ import annotations

import time

from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as alter

from store.db import database, is_postgres
from store.models import (
    Account,
    Alert,
    AlertNote,
    AlertReply,
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
