"""Data rights: BORRAR erases a person (their alerts stay with the consulate, anonymised); old data is purged."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from gateway import keys
from handlers.backoffice import retention
from store import erasure
from store.crypto import lookup_hash
from store.models import (
    Alert,
    Consent,
    Contact,
    ConversationSession,
    InboundMessage,
    InboundSeen,
    LimitEvent,
    OutboxMessage,
    Person,
)
from tests import payloads
from tests.conftest import ROOT, in_store
from tests.test_alerts import HOUSTON_PERSON, MARIA, messages, raised
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled
from tests.test_privacy import raw_database_text
from tests.test_webhooks_twilio import PUBLIC


async def test_borrar_erases_the_person_and_anonymises_their_alerts(start, database_url):
    client = await start("console")
    phone, alert = await raised(client)
    assert (await phone.send("BORRAR")).startswith("¿Borrar todos sus datos")
    phone.seen = 0  # the erasure deletes what was sent to them before: count afresh
    assert await phone.send("1") == "Listo: sus datos fueron borrados."
    for model in (Contact, Consent):
        assert await in_store(client, model.select().count) == 0
    assert await in_store(client, lambda: Person.select().where(Person.id == alert.person_id).count()) == 0
    [kept] = await in_store(client, lambda: list(Alert.select()))
    assert (kept.reference, kept.person_id, kept.note) == (alert.reference, None, None)
    # Nothing sent to them stays but the confirmation of the erasure itself.
    to_them = [m.body for m in await messages(client) if m.to == HOUSTON_PERSON]
    assert to_them == ["Listo: sus datos fueron borrados."]
    assert (
        await in_store(client, lambda: InboundMessage.select().where(InboundMessage.person.is_null(False)).count()) <= 1
    )
    # What was sent to Maria (the relay) is hers, not the erased person's: it stays until the retention period.
    assert any(m.to == MARIA for m in await messages(client))


async def test_erase_by_ussd_after_confirmation_only(start):
    client = await start("console")
    await dial(client, ["5", "1", "1", "17135550199", "Maria", "1"], phone=HOUSTON_PERSON)
    phone = Phone(client, HOUSTON_PERSON)
    phone.seen = len([m for m in await messages(client) if m.to == HOUSTON_PERSON])
    await phone.send("DELETE")
    assert await phone.send("2") == "Nothing was erased."
    assert await in_store(client, Contact.select().count) == 1


async def test_retention_purges_sessions_inbound_and_texts(start, clock, database_url):
    client = await start("console")
    phone, alert = await raised(client)
    await dial(client, ["5"], phone="+17135550111")  # a session left open
    # The relays have left (a text still being sent is not old enough to purge, whatever its date).
    await settled(client, lambda rows: all(r.status in ("sent", "delivered", "failed", "cancelled") for r in rows))
    later = client.app[keys.CLOCK]() + 31 * 86400
    purged = await in_store(client, erasure.purge_older_than, later - 30 * 86400, later)
    assert purged.inbound > 0 and purged.bodies > 0 and purged.sessions > 0
    assert await in_store(client, InboundMessage.select().count) == 0
    assert await in_store(client, ConversationSession.select().count) == 0
    bodies = await in_store(client, lambda: [m.body for m in OutboxMessage.select()])
    assert bodies and all(body == "" for body in bodies)
    assert "pide ayuda" not in await in_store(client, raw_database_text, database_url)


def test_run_py_purge_says_what_it_did(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "purge"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "LIFELINE_CONFIG": str(ROOT / "config"),
            "LIFELINE_MENUS": str(ROOT / "menus"),
            "LIFELINE_SECRET_KEY": "k" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path}/l.db",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "purged 0 session(s), 0 inbound message(s), 0 sent text(s) older than 30 days"


LIMITED = "Hoy envio muchos avisos: no avisamos a sus contactos."  # the consulate is still paged


async def test_erasing_does_not_reset_the_daily_limits(start, clock, database_url):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    for _ in range(5):  # limits.alerts_per_day
        assert LIMITED not in await phone.send("ALERTA")
        assert (await phone.send("CANCELAR")).startswith("Listo")
    for _ in range(3):  # limits.drills_per_day
        assert (await phone.send("PRUEBA")).startswith("PRUEBA ")
    await phone.send("BORRAR")
    phone.seen = 0
    assert await phone.send("1") == "Listo: sus datos fueron borrados."

    assert LIMITED in await phone.send("ALERTA")  # the same number, limited exactly as before
    await phone.send("CANCELAR")
    assert await phone.send("PRUEBA") == "Ya hizo varias pruebas hoy. Intente manana."
    assert await in_store(client, Alert.select().count) == 9
    # What is kept of the erased person to count: the keyed hash of the number, what, and when.
    kept = await in_store(client, lambda: list(LimitEvent.select().tuples()))
    assert {(phone_hash, kind) for _, phone_hash, kind, _ in kept} == {
        (await in_store(client, lookup_hash, HOUSTON_PERSON), kind) for kind in ("alert", "drill")
    }
    assert HOUSTON_PERSON not in await in_store(client, raw_database_text, database_url)
    clock.advance(24 * 3600 + 1)
    assert LIMITED not in await phone.send("ALERTA")
    # The daily purge forgets uses older than a day.
    await in_store(client, retention.purge, 30, 7, clock())
    assert await in_store(client, LimitEvent.select().count) == 1


async def test_a_replayed_signed_twilio_request_after_the_purge_changes_nothing(start, fake, clock):
    client = await start("twilio", PUBLIC_URL=PUBLIC)

    async def signed_sms(form: dict):
        headers = payloads.twilio_signature(fake.twilio_token, PUBLIC + "/twilio/sms", form)
        return await client.post("/twilio/sms", data=form, headers=headers)

    alert = payloads.twilio_sms(HOUSTON_PERSON, "ALERTA")
    assert (await signed_sms(alert)).status == 200
    await settled(client, lambda rows: all(r.status == "sent" for r in rows))  # the relays left
    assert (await signed_sms(payloads.twilio_sms(HOUSTON_PERSON, "CANCELAR"))).status == 200  # the case is over
    rows = await settled(client, lambda rows: all(r.status == "sent" for r in rows))
    sent = len(fake.received)
    assert sent == len(rows) > 1  # confirmations, relays to the duty phones, "safe" to them

    clock.advance(31 * 86400)  # past privacy.retention_days
    purged = await in_store(client, retention.purge, 30, 7, clock())
    assert purged.inbound == 2 and await in_store(client, InboundMessage.select().count) == 0

    assert (await signed_sms(alert)).status == 200  # the same signed request, captured and replayed
    assert await in_store(client, Alert.select().count) == 1
    assert await in_store(client, OutboxMessage.select().count) == len(rows)
    client.app[keys.DISPATCHER].wake()
    await asyncio.sleep(0.2)
    assert len(fake.received) == sent

    clock.advance(7 * 86400)  # past the replay window too: the mark is gone (README: Privacy)
    await in_store(client, retention.purge, 30, 7, clock())
    assert await in_store(client, InboundSeen.select().count) == 0
