"""Creates or migrates the schema at start-up: numbered steps, each run once, in order."""

from __future__ import annotations

import time

from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_schema

from store.db import database, is_postgres
from store.models import (
    Alert,
    Consent,
    Contact,
    ConversationSession,
    DeliveryReport,
    InboundMessage,
    OptOut,
    OutboxMessage,
    Person,
    SchemaVersion,
    UssdSessionEnd,
)


def _v1_initial() -> None:
    database.create_tables([Person, InboundMessage, UssdSessionEnd, OutboxMessage, DeliveryReport])


def _v2_conversations() -> None:
    database.create_tables([ConversationSession, OptOut])


def _v3_consent_and_contacts() -> None:
    database.create_tables([Consent, Contact])


def _v4_outbox_tags() -> None:
    # A database created at v1 by this code already has the column (tables are made from the
    # current models); one created by an earlier release gets it here.
    if "tag" not in {column.name for column in database.get_columns("outbox_message")}:
        migrator = SchemaMigrator.from_database(database.obj)
        migrate_schema(migrator.add_column("outbox_message", "tag", OutboxMessage.tag))
    database.execute_sql("CREATE INDEX IF NOT EXISTS outbox_message_tag ON outbox_message (tag)")


def _v5_alerts() -> None:
    database.create_tables([Alert])


# Append new steps; never edit one that has shipped.
MIGRATIONS = [
    (1, _v1_initial),
    (2, _v2_conversations),
    (3, _v3_consent_and_contacts),
    (4, _v4_outbox_tags),
    (5, _v5_alerts),
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
