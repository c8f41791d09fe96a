"""Data rights: BORRAR erases a person (their alerts stay with the consulate, anonymised); old data is purged."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

from gateway import keys
from handlers.backoffice import retention
from store import erasure
from store.crypto import Undecryptable, lookup_hash, vault
from store.models import (
    MODELS,
    Alert,
    AlertNote,
    Booking,
    ComplaintMessage,
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
from tests.test_alerts import DIRECTORY, HOUSTON, HOUSTON_PERSON, JOSE, MARIA, messages, raised
from tests.test_appointments import MONDAY_MORNING
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled
from tests.test_privacy import raw_database_text
from tests.test_webhooks_twilio import PUBLIC


async def test_borrar_erases_the_person_and_anonymises_their_alerts(start, database_url):
    client = await start("console")
    phone, alert = await raised(client)
    assert (await phone.send("BORRAR")).startswith("¿Borrar todos sus datos")
    await phone.send_all("1")
    await settled(client, lambda rows: all(r.status not in ("pending", "sending") for r in rows))
    for model in (Contact, Consent):
        assert await in_store(client, model.select().count) == 0
    assert await in_store(client, lambda: Person.select().where(Person.id == alert.person_id).count()) == 0
    [kept] = await in_store(client, lambda: list(Alert.select()))
    assert (kept.reference, kept.person_id, kept.note) == (alert.reference, None, None)
    # Nothing sent to them stays, not even the confirmation of the erasure once it has left.
    assert [m.body for m in await messages(client) if m.to == HOUSTON_PERSON] == []
    assert (
        await in_store(client, lambda: InboundMessage.select().where(InboundMessage.person.is_null(False)).count()) <= 1
    )
    # What was sent to Maria about the alert goes too (her number with the case's reference would say whose
    # it was); the notice that she was added stays hers, without the erased number.
    to_maria = [m for m in await messages(client) if m.to == MARIA]
    assert to_maria and all(m.tag is None and "+17135550142" not in m.body for m in to_maria)
    # The consulate's side of the case stays, its texts emptied.
    to_duty = [m for m in await messages(client) if m.tag == f"alert:{alert.reference}"]
    assert to_duty and {m.to for m in to_duty} <= {*HOUSTON.duty_phones} and {m.body for m in to_duty} == {""}


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
    await phone.send_all("1")
    await settled(client, lambda rows: all(r.status not in ("pending", "sending") for r in rows))
    phone.seen = 0  # nothing sent to them before is kept: count afresh

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


async def test_a_replayed_message_of_an_erased_person_changes_nothing(start, fake):
    """Erasure deletes the person's messages and leaves only the keyed hash of each one's carrier id: a
    captured alert replayed afterwards raises nothing and brings back no one."""
    client = await start("africastalking")

    async def sms(text: str, message_id: str) -> None:
        form = payloads.at_sms(HOUSTON_PERSON, text, message_id=message_id)
        assert (await client.post("/africastalking/sms", data=form)).status == 200

    await sms("ALERTA", "at-alert-1")
    assert await in_store(client, Alert.select().count) == 1
    await sms("BORRAR", "at-erase-1")
    await sms("1", "at-erase-2")
    assert await in_store(client, Person.select().count) == 0
    assert await in_store(client, InboundMessage.select().count) <= 1  # the confirmation, naming nobody
    marks = await in_store(client, InboundSeen.select().count)
    assert marks >= 2

    await sms("ALERTA", "at-alert-1")  # the same request, captured and replayed
    assert await in_store(client, Alert.select().count) == 1
    assert await in_store(client, Person.select().count) == 0
    assert await in_store(client, InboundSeen.select().count) == marks


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


# The person erased below, and every way their number is commonly written.
NAME = "Ana Sofia Ruiz"
FORMS = ("+17135550142", "17135550142", "7135550142", "713-555-0142", "(713) 555-0142", "713 555 0142", "5550142")
FERNET_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_=-]{40,}")


def everything_readable(url: str) -> str:
    """What someone holding the database and the server's key can read: every column of every row of every
    table with encrypted columns decrypted, the raw text (SQLite: the files' bytes, free pages and WAL
    included), and every encrypted token found in those bytes, decrypted."""
    from tests.test_privacy import raw_database_text

    parts = []
    for model in MODELS:
        parts += [repr(row) for row in model.select().dicts()]  # EncryptedField columns come back decrypted
    raw = raw_database_text(url)
    parts.append(raw)
    for token in set(FERNET_TOKEN.findall(raw.encode("latin-1"))):
        try:
            parts.append(vault().decrypt(token.decode("ascii")))
        except (Undecryptable, ValueError):
            pass  # a fragment of a token cut by a page boundary
    return "\n".join(parts)


def people_with_her_number() -> int:
    return Person.select().where(Person.phone_hash == lookup_hash(HOUSTON_PERSON)).count()


def leaks(text: str) -> list[str]:
    found = [form for form in FORMS if form in text]
    return found + ([NAME] if NAME.lower() in text.lower() else [])


async def test_after_borrar_no_text_or_row_holds_the_persons_number_or_name(start, fake, clock, database_url):
    clock.advance(MONDAY_MORNING - clock())
    client = await start("africastalking")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send(f"NOMBRE {NAME}")
    await phone.send("1")  # consent
    await phone.send("UBICACION 77002")
    await phone.send("FAMILIA +1 713 555 0199 Maria")  # Maria is told who added her, with name and number
    await phone.send("FAMILIA 1-713-555-0188 Jose")
    await phone.send("CITA")
    for answer in ("1", "1", "1", "1", "1"):
        await phone.send_all(answer)  # a passport appointment, booked
    await phone.send_all("PRUEBA")  # a drill: the contacts get a practice relay naming her
    await phone.send_all("QUEJA me trataron mal en la oficina")
    await phone.send_all(f"ALERTA Me detuvieron, soy {NAME}")
    [alert] = await in_store(client, lambda: list(Alert.select().where(Alert.status == "open")))
    officer = Phone(client, HOUSTON.duty_phones[0])
    await officer.send_all(f"R {alert.reference} Vamos en camino, {NAME}")
    await officer.send_all(f"NOTA {alert.reference} su hermana llama del (713) 555-0142")
    await Phone(client, MARIA).send_all(f"{NAME} no contesta al 7135550142")  # what others wrote is kept too
    await settled(client, lambda rows: all(r.status not in ("pending", "sending") for r in rows))
    assert leaks(await in_store(client, everything_readable, database_url))  # the test sees what is there

    clock.advance(31 * 60)  # past the officer's reply window: her "1" answers BORRAR, not the officer
    await phone.send_all("BORRAR")
    await phone.send_all("1")
    rows = await settled(client, lambda rows: all(r.status not in ("pending", "sending") for r in rows))
    # The confirmation reached her phone, then was forgotten like the rest.
    assert fake.accepted_to(HOUSTON_PERSON)[-1].body == "Listo: sus datos fueron borrados."
    # The consulate still knows the open alert's person erased their data (under pressure, perhaps).
    erased = [m for m in fake.accepted_to(HOUSTON.duty_phones[0]) if "borro sus datos" in m.body]
    assert len(erased) == 1 and erased[0].body.startswith(f"ALERTA Lifeline {alert.reference} (")
    assert all(r.status != "failed" for r in rows)

    async with asyncio.timeout(5):  # the number goes from the disk once its last text has left
        while leaks(await in_store(client, everything_readable, database_url)):
            await asyncio.sleep(0.05)
    # The cases stay with the consulate, anonymised; others' records keep what is theirs.
    [kept] = await in_store(client, lambda: list(Alert.select().where(Alert.status == "open")))
    assert (kept.reference, kept.person_id, kept.note) == (alert.reference, None, None)
    [note] = await in_store(client, lambda: [n.text for n in AlertNote.select()])
    assert note == "su hermana llama del [borrado]"
    assert await in_store(client, lambda: Booking.select().where(Booking.person.is_null()).count()) == 1
    assert await in_store(client, ComplaintMessage.select().count) == 0
    assert await in_store(client, people_with_her_number) == 0
    assert {MARIA, JOSE} <= {m.to for m in fake.accepted}


async def test_erase_on_the_keypad_after_one_confirmation_and_the_no_key_erases_nothing(start, database_url):
    client = await start("console")
    await dial(client, ["5", "1", "1", "17135550199", "Maria", "1"], phone=HOUSTON_PERSON)  # consent, a contact
    rights = (await dial(client, ["6"], phone=HOUSTON_PERSON))[-1]
    assert "\n5. Borrar mis datos\n" in rights and len(rights) <= 182
    asked, kept = (await dial(client, ["6", "5", "2"], phone=HOUSTON_PERSON))[-2:]
    assert asked.startswith("CON ¿Borrar todos sus datos de Lifeline") and "\n2. No\n" in asked
    assert len(asked) <= 182
    assert kept == "END No se borro nada."
    back = (await dial(client, ["6", "5", "0"], phone=HOUSTON_PERSON))[-1]
    assert back.startswith("CON Derechos y ayuda")  # 0 goes back, erasing nothing
    assert await in_store(client, Contact.select().count) == 1
    assert await in_store(client, people_with_her_number) == 1

    done = (await dial(client, ["6", "5", "1"], phone=HOUSTON_PERSON))[-1]
    assert done == "END Listo: sus datos fueron borrados."
    assert await in_store(client, people_with_her_number) == 0
    assert await in_store(client, Contact.select().count) == 0
    await settled(client, lambda rows: all(r.status not in ("pending", "sending") for r in rows))
    # Maria's notice named the person's number: gone from it, as from the sessions and the disk.
    async with asyncio.timeout(5):
        while leaks(await in_store(client, everything_readable, database_url)):
            await asyncio.sleep(0.05)


async def test_an_alert_left_open_by_an_erasure_still_reaches_the_consulate_and_officers_can_act(start, clock):
    client = await start("console")
    phone, alert = await raised(client)
    await phone.send("BORRAR")
    await phone.send_all("1")
    officer = Phone(client, HOUSTON.duty_phones[0])
    told = [m.body for m in await messages(client) if m.to == officer.number]
    assert told[-1].startswith(f"ALERTA Lifeline {alert.reference} (") and "borro sus datos" in told[-1]
    # Nobody acknowledged it: backups and the central are still paged, without who it was.
    clock.advance(601)
    await client.app[keys.CONVERSATION].send_due()
    pages = [m for m in await messages(client) if "SIN RESPUESTA" in m.body]
    assert {m.to for m in pages} == {*HOUSTON.backup_phones, *DIRECTORY.central.phones}
    assert pages[0].body.startswith(f"ALERTA Lifeline {alert.reference} SIN RESPUESTA desde ")
    assert "La persona borro sus datos de Lifeline." in pages[0].body
    officer.seen = len([m for m in await messages(client) if m.to == officer.number])  # and a reminder
    assert await officer.send(f"R {alert.reference} hola") == (
        f"{alert.reference}: la persona borro sus datos; ya no podemos escribirle."
    )
    assert (await officer.send_all(f"OK {alert.reference}"))[0].startswith(f"{alert.reference} confirmado")
    assert await officer.send(f"CERRAR {alert.reference}") == f"{alert.reference}: caso cerrado."
    assert (await in_store(client, lambda: Alert.get())).status == "closed"
    assert [m for m in await messages(client) if m.to in (MARIA, JOSE) and m.created_at > alert.created_at + 600] == []
