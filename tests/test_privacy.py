"""Personal data at rest and in logs: a known number never appears in clear."""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.carriers.console import ConsoleSender
from store.db import database
from store.models import MODELS
from tests import payloads
from tests.conftest import PERSON, SECRET, in_store
from tests.test_outbox import settled

DIGITS = PERSON.lstrip("+")  # 15555550142
SECRET_WORDS = "Maria Lopez en la calle Hidalgo"
CONTACT = "7135550199"


def raw_database_text(url: str) -> str:
    """Everything the database holds, as the bytes on disk (SQLite) or every column of every row."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return "".join(p.read_bytes().decode("latin-1") for p in path.parent.glob(path.name + "*"))
    rows = []
    for model in MODELS:
        cursor = database.execute_sql(f'SELECT * FROM "{model._meta.table_name}"')
        rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


async def test_raw_database_holds_no_number_or_text_in_clear(start, fake, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    client = await start("africastalking,twilio", PUBLIC_URL="https://lifeline.example.org")
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, SECRET_WORDS))
    # A contact typed on the keypad: My contacts → add → number → name.
    for text in (
        "",
        "5",
        "5*1",
        "5*1*1",
        f"5*1*1*{CONTACT}",
        f"5*1*1*{CONTACT}*Maria Lopez",
        f"5*1*1*{CONTACT}*Maria Lopez*1",
    ):
        response = await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, text, session="priv"))
        assert response.status == 200
    # The help SMS, and the one-time notice to the new contact.
    await settled(client, lambda rows: len(rows) == 2 and all(r.status == "sent" for r in rows))

    text = await in_store(client, raw_database_text, database_url)
    assert len(text) > 1000  # the dump really holds the tables
    for clear in (
        DIGITS,
        "5555550142",
        CONTACT,
        "Maria Lopez",
        "Hidalgo",
        "Para pedir ayuda ahora",
        "contacto de confianza",
    ):
        assert clear not in text, clear

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "+1******0142" in logged
    assert "5550142" not in logged
    assert SECRET not in logged


async def test_console_provider_logs_numbers_masked_and_text_only_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="lifeline.console")
    await ConsoleSender().send(PERSON, "Maria (+1 555 555 0199) pide ayuda")
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert info == ["SMS to +1******0142: 34 characters, gsm7, 1 segment"]
    assert debug == ["SMS to +1******0142: Maria (+1******0199) pide ayuda"]
