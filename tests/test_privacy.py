"""Personal data at rest and in logs: a known number never appears in clear."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

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
    # A contact typed on the keypad: My contacts → add → number → its country (US or Mexico) → name.
    for text in (
        "",
        "5",
        "5*1",
        "5*1*1",
        f"5*1*1*{CONTACT}",
        f"5*1*1*{CONTACT}*1",
        f"5*1*1*{CONTACT}*1*Maria Lopez",
        f"5*1*1*{CONTACT}*1*Maria Lopez*1",
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


CONSOLE_TEXTS = [
    # (label, text sent, what the log shows)
    ("number in a text", "Maria (+1 555 555 0199) pide ayuda", "Maria (+1******0199) pide ayuda"),
    ("national with brackets", "Llame al (713) 555-0142", "Llame al 7*****0142"),
    ("dialled from abroad", "FAMILIA 0115215555500148 Jose", "FAMILIA 0***********0148 Jose"),
    ("a ZIP code and dates stay", "ayuda en 77002 (20/11). 23/11 14:05", "ayuda en 77002 (20/11). 23/11 14:05"),
    ("a list of times stays", "¿A que hora?\n1 08:00  2 08:20  3 08:40", "¿A que hora?\\n1 08:00  2 08:20  3 08:40"),
    ("the shortest number", "Llame al 555-0142", "Llame al 5**0142"),  # 7 digits: read for numbers
    (
        "a menu stays",
        "1 Alerta 2 Consulado 3 Cita 4 Familia 5 Idioma 0 Salir",
        "1 Alerta 2 Consulado 3 Cita 4 Familia 5 Idioma 0 Salir",
    ),
]


@pytest.mark.parametrize("label,text,shown", CONSOLE_TEXTS, ids=[c[0] for c in CONSOLE_TEXTS])
async def test_console_provider_prints_each_text_at_info_with_numbers_masked(caplog, label, text, shown):
    caplog.set_level(logging.INFO, logger="lifeline.console")
    await ConsoleSender().send(PERSON, text)
    [line] = [r.getMessage() for r in caplog.records if r.name == "lifeline.console"]
    assert line.startswith("SMS to +1******0142 (")
    assert line.endswith(f"): {shown}")


async def test_a_newcomer_sees_in_the_log_what_the_contact_receives(start, caplog):
    """`make serve` with the console provider: the contact's notice is printed, numbers masked."""
    caplog.set_level(logging.INFO)
    client = await start("console")
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "FAMILIA +1 713 555 0199 Maria"))
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "1"))
    rows = await settled(client, lambda rows: any(r.to == "+17135550199" and r.status == "sent" for r in rows))
    [notice] = [r.body for r in rows if r.to == "+17135550199"]
    printed = [r.getMessage() for r in caplog.records if r.name == "lifeline.console"]
    shown = notice.replace(PERSON, "+1******0142")
    assert f"SMS to +1******0199 ({len(notice)} characters, gsm7, 1 segment): {shown}" in printed, printed
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert DIGITS not in logged and CONTACT not in logged
