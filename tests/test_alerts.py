"""ALERT and I'M SAFE end to end: webhooks in, relays to contacts and duty phones out, cancel."""

from __future__ import annotations

import argparse
import asyncio
import re
from collections import Counter

import pytest
import yaml

import run
from gateway import keys
from handlers.reference.consulates import Directory
from store.crypto import lookup_hash
from store.models import Alert, AlertNote, OutboxMessage, Person
from tests import payloads
from tests.conftest import ROOT, in_store
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled

HOUSTON_PERSON = "+17135550142"  # a Houston area code: the Houston consulate is told
MARIA, JOSE = "+17135550199", "+17135550188"
DIRECTORY = Directory.load(ROOT / "config" / "consulates.yaml").network_for("MX")
HOUSTON = DIRECTORY.for_phone(HOUSTON_PERSON)
REFERENCE = re.compile(r"^[ACDEFHJKMNPRTUVWXY34679]{4}$")


async def registered(client, number: str = HOUSTON_PERSON) -> Phone:
    """A person who agreed to the consent text and registered Maria and Jose."""
    phone = Phone(client, number)
    await phone.send("FAMILIA +1 713 555 0199 Maria")
    await phone.send("1")
    await phone.send("FAMILIA +1 713 555 0188 Jose")
    return phone


async def messages(client) -> list[OutboxMessage]:
    return await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))


async def relays(client, reference: str) -> list[OutboxMessage]:
    """Everything sent about an alert: its relays, then updates, safe messages, escalation."""
    return [m for m in await messages(client) if m.tag in (f"alert:{reference}", f"alert:{reference}:later")]


async def only_alert(client) -> Alert:
    [alert] = await in_store(client, lambda: list(Alert.select()))
    return alert


async def test_alert_by_sms_tells_every_contact_and_the_houston_duty_phones(start):
    client = await start("console")
    phone = await registered(client)
    confirmation = await phone.send("ALERTA me detuvieron en la 59")
    alert = await only_alert(client)
    assert REFERENCE.match(alert.reference)
    assert confirmation == (  # no location given yet: the confirmation asks for one
        f"Aviso {alert.reference} enviado al {HOUSTON.short_name} y a 2 de sus contactos. "
        "¿Donde esta? Codigo postal o lugar:"
    )
    sent = await relays(client, alert.reference)
    assert Counter(m.to for m in sent) == Counter([MARIA, JOSE, *HOUSTON.duty_phones])
    for message in sent:
        assert alert.reference in message.body and HOUSTON_PERSON in message.body
        assert "me detuvieron en la 59" in message.body
        assert (message.encoding, message.segments) == ("gsm7", 1)
    duty = [m for m in sent if m.to in HOUSTON.duty_phones]
    assert all(m.body.endswith(f"Responda OK {alert.reference}") for m in duty)


async def test_one_dial_alert_by_ussd_confirms_on_the_screen(start):
    client = await start("console")
    await registered(client)
    form = payloads.at_ussd(HOUSTON_PERSON, "1", session="one-dial")
    screen = await (await client.post("/africastalking/ussd", data=form)).text()
    alert = await only_alert(client)
    assert screen == (
        f"CON Aviso {alert.reference} enviado al {HOUSTON.short_name} y a 2 de sus contactos. "
        "¿Donde esta? Codigo postal o lugar:\n0 Atras"
    )
    assert len(await relays(client, alert.reference)) == 2 + len(HOUSTON.duty_phones)


async def test_someone_never_registered_still_reaches_the_consulate(start):
    client = await start("console")
    confirmation = await Phone(client, HOUSTON_PERSON).send("ALERTA")
    alert = await only_alert(client)
    # Nobody to tell but the consulate: no "0 contacts", but how to add family for next time.
    assert confirmation == (
        f"Aviso {alert.reference} enviado al {HOUSTON.short_name}. Luego, para avisar a su familia, envie FAMILIA. "
        "¿Donde esta? Codigo postal o lugar:"
    )
    assert sorted(m.to for m in await relays(client, alert.reference)) == sorted(HOUSTON.duty_phones)


async def test_a_number_no_consulate_covers_reaches_the_central_number(start):
    client = await start("console")
    await Phone(client, "+525555500142").send("ALERTA")
    alert = await only_alert(client)
    assert alert.consulate == "central:MX"
    assert sorted(m.to for m in await relays(client, alert.reference)) == sorted(DIRECTORY.central.phones)


async def test_relays_reach_the_carrier(start, fake):
    client = await start("africastalking")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    expected = 2 + len(HOUSTON.duty_phones)
    await settled(
        client, lambda rows: sum(r.tag == f"alert:{alert.reference}" and r.status == "sent" for r in rows) == expected
    )
    reached = {m.to for m in fake.accepted if alert.reference in m.body and m.to != HOUSTON_PERSON}
    assert reached == {MARIA, JOSE, *HOUSTON.duty_phones}


async def test_a_repeat_press_updates_without_spamming(start, clock):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    first = len(await messages(client))
    assert (await phone.send("ALERTA sigo aqui")).startswith(f"Aviso {alert.reference}: enviado otra vez al ")
    # The confirmation and the duty phones' update: the contacts get no second round yet.
    assert len(await messages(client)) == first + 1 + len(HOUSTON.duty_phones)
    clock.advance(301)
    await phone.send("ALERTA ahora en Victoria")
    updates = [m for m in await relays(client, alert.reference) if "ahora en Victoria" in m.body]
    assert Counter(m.to for m in updates) == Counter([MARIA, JOSE, *HOUSTON.duty_phones])
    assert all("sigue pidiendo ayuda" in m.body for m in updates)


@pytest.mark.parametrize("word", ["CANCELAR", "ESTOY BIEN", "SAFE", "estoy bien"])
async def test_safe_tells_everyone_told_and_closes_the_alert(start, word):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    await settled(client, lambda rows: all(r.status == "sent" for r in rows))
    reply = await phone.send(word)
    assert alert.reference in reply
    safe = [m for m in await relays(client, alert.reference) if "a salvo" in m.body]
    assert Counter(m.to for m in safe) == Counter([MARIA, JOSE, *HOUSTON.duty_phones])
    assert (await only_alert(client)).status == "cancelled"


async def test_cancel_alone_is_the_carriers_opt_out_not_i_am_safe(start):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    assert await phone.send("CANCEL") is None  # opted out, as carriers require
    assert (await only_alert(client)).status == "open"


async def test_only_the_number_that_raised_the_alert_can_cancel_it(start):
    client = await start("console")
    await (await registered(client)).send("ALERTA")
    maria = Phone(client, MARIA)
    maria.seen = len([m for m in await messages(client) if m.to == MARIA])  # her notice and the relay
    assert await maria.send("CANCELAR") == "No tiene avisos abiertos."
    assert (await only_alert(client)).status == "open"


async def test_cancel_within_the_countdown_sends_nothing_at_all(start, config_dir, clock):
    policy = yaml.safe_load((config_dir / "policy.yaml").read_text())
    policy["alert"]["grace_seconds"] = 60
    (config_dir / "policy.yaml").write_text(yaml.safe_dump(policy))
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    clock.advance(30)
    assert (await phone.send("CANCELAR")).startswith(f"Listo: aviso {alert.reference} cancelado.")
    clock.advance(60)
    rows = await relays(client, alert.reference)
    assert rows and all(r.status == "cancelled" for r in rows)
    assert not [m for m in rows if "a salvo" in m.body]  # nobody had been told, so nobody is untold


async def raised(client) -> tuple[Phone, Alert]:
    phone = await registered(client)
    await phone.send("ALERTA")
    return phone, await only_alert(client)


async def test_duty_officer_acknowledges_and_the_person_is_told_once(start):
    client = await start("console")
    phone, alert = await raised(client)
    officer = Phone(client, HOUSTON.duty_phones[0])
    officer.seen = len([m for m in await messages(client) if m.to == officer.number])
    assert await officer.send(f"ok {alert.reference.lower()}") == (
        f"{alert.reference} confirmado. Avisamos a la persona que su consulado atiende su aviso."
    )
    told = [m.body for m in await messages(client) if m.to == HOUSTON_PERSON]
    assert told[-1] == f"Lifeline {alert.reference}: su consulado recibio su aviso y lo esta atendiendo."
    assert (await only_alert(client)).acknowledged_at is not None
    await officer.send(f"OK {alert.reference}")
    assert [m.body for m in await messages(client) if m.to == HOUSTON_PERSON] == told  # told once


async def test_duty_reply_note_and_close(start):
    client = await start("console")
    phone, alert = await raised(client)
    officer = Phone(client, HOUSTON.duty_phones[0])
    officer.seen = len([m for m in await messages(client) if m.to == officer.number])
    await officer.send(f"R {alert.reference} Vamos en camino, no firme nada")
    reply = [m.body for m in await messages(client) if m.to == HOUSTON_PERSON][-1]
    assert reply == f"Lifeline {alert.reference}, su consulado: Vamos en camino, no firme nada"
    assert officer.number not in reply
    assert (
        await officer.send(f"NOTA {alert.reference} familia avisada por telefono")
        == f"{alert.reference}: nota guardada."
    )
    [note] = await in_store(client, lambda: list(AlertNote.select()))
    assert note.text == "familia avisada por telefono"
    assert await officer.send(f"CERRAR {alert.reference}") == f"{alert.reference}: caso cerrado."
    assert (await only_alert(client)).status == "closed"


async def test_duty_words_from_other_numbers_never_act_on_an_alert(start):
    client = await start("console")
    phone, alert = await raised(client)
    stranger = Phone(client, "+13125550199")
    assert (await stranger.send(f"OK {alert.reference}")).startswith("Para pedir ayuda ahora responda 1.")
    chicago = DIRECTORY.by_id("chicago").duty_phones[0]
    officer = Phone(client, chicago)  # a duty phone, but of another consulate
    assert await officer.send(f"CERRAR {alert.reference}") == f"No hay aviso {alert.reference} para este telefono."
    current = await only_alert(client)
    assert (current.status, current.acknowledged_at) == ("open", None)


async def test_unanswered_alerts_escalate_once_even_across_a_restart(start, clock):
    first = await start("console")
    _, alert = await raised(first)
    await first.close()
    clock.advance(601)  # alert.escalate_after_seconds is 600
    second = await start("console")  # a new process: its sweep finds the alert in the store
    expected = {*HOUSTON.backup_phones, *DIRECTORY.central.phones}

    def pages(rows):
        return [r for r in rows if r.tag == f"alert:{alert.reference}:later" and "SIN RESPUESTA" in r.body]

    rows = await settled(second, lambda rows: {r.to for r in pages(rows)} == expected)
    reminders = [r for r in rows if "nadie ha respondido" in r.body]
    assert sorted(r.to for r in reminders) == sorted(HOUSTON.duty_phones)
    await second.app[keys.CONVERSATION].send_due()  # a second sweep pages nobody again
    assert len(pages(await messages(second))) == len(expected)


async def test_an_acknowledged_alert_does_not_escalate(start, clock):
    client = await start("console")
    _, alert = await raised(client)
    officer = Phone(client, HOUSTON.duty_phones[0])
    officer.seen = 1  # the relay
    await officer.send(f"OK {alert.reference}")
    clock.advance(601)
    await client.app[keys.CONVERSATION].send_due()
    assert not [m for m in await messages(client) if "SIN RESPUESTA" in m.body]


async def test_fifty_alerts_at_once_each_relay_exactly_once(start, fake):
    client = await start("twilio")
    people = [f"+1713555{n:04d}" for n in range(200, 250)]
    replies = await asyncio.gather(
        *(client.post("/africastalking/sms", data=payloads.at_sms(number, "ALERTA")) for number in people)
    )
    assert [r.status for r in replies] == [200] * 50
    alerts = await in_store(client, lambda: list(Alert.select()))
    assert len(alerts) == 50 and len({a.reference for a in alerts}) == 50
    expected = 50 * len(HOUSTON.duty_phones) + 50  # relays, and each person's confirmation
    await fake.wait_for(expected, timeout=30)
    rows = await settled(client, lambda rows: all(r.status == "sent" for r in rows), 30)
    assert len(rows) == expected
    relayed = Counter((m.to, m.body.split(":")[0]) for m in fake.accepted if m.to in HOUSTON.duty_phones)
    assert len(relayed) == 50 * len(HOUSTON.duty_phones) and set(relayed.values()) == {1}


async def test_alerts_are_limited_per_number_and_day(start, clock):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    for _ in range(5):
        assert (await phone.send("ALERTA")).startswith("Aviso ")
        assert (await phone.send("CANCELAR")).startswith("Listo")
    # Beyond the limit the consulate is still paged (tests/test_cry_for_help.py case 3).
    assert "Hoy envio muchos avisos: no avisamos a sus contactos." in await phone.send("ALERTA")
    assert await phone.send("CANCELAR")
    assert await in_store(client, Alert.select().count) == 6
    clock.advance(24 * 3600 + 1)
    assert "muchos avisos" not in await phone.send("ALERTA")


async def test_contact_additions_are_limited_per_day(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("FAMILIA +1 713 555 0160 Uno")
    await phone.send("1")
    for n in range(1, 10):  # adding and removing, to try to text many strangers
        await phone.send("FAMILIA BORRAR 1")
        assert (await phone.send(f"FAMILIA +1 713 555 01{60 + n} Otro")).startswith("Listo"), n
    await phone.send("FAMILIA BORRAR 1")
    assert await phone.send("FAMILIA +1 713 555 0175 Once") == "Ya agrego muchos contactos hoy. Intente manana."
    notices = [m for m in await messages(client) if "contacto de confianza" in m.body]
    assert len(notices) <= 10


async def test_the_home_location_chooses_the_consulate_and_is_in_every_relay(start):
    client = await start("console")
    phone = await registered(client)  # a Houston number...
    assert (await phone.send("UBICACION 60601")).startswith("Listo: su ubicacion es 60601.")  # ...living in Chicago
    confirmation = await phone.send("ALERTA")
    chicago = DIRECTORY.by_id("chicago")
    alert = await only_alert(client)
    assert alert.consulate == "chicago"
    assert confirmation.startswith(f"Aviso {alert.reference} enviado al {chicago.short_name} y a 2 de sus contactos.")
    sent = await relays(client, alert.reference)
    assert Counter(m.to for m in sent) == Counter([MARIA, JOSE, *chicago.duty_phones])
    # Said as where they live, not as where they are now; the alert's time is the relay's only date.
    assert all("pide ayuda (vive en 60601). Aviso del " in m.body for m in sent)


async def test_someone_without_a_location_is_asked_and_the_consulate_told(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    assert "¿Donde esta?" in await phone.send("ALERTA")
    assert await phone.send("Victoria TX") == "Gracias. Avisamos al consulado donde esta."
    alert = await only_alert(client)
    assert alert.location == "Victoria, TX"  # the place it names
    located = [m for m in await relays(client, alert.reference) if "esta en Victoria, TX" in m.body]
    assert sorted(m.to for m in located) == sorted(HOUSTON.duty_phones)


async def test_by_ussd_the_location_is_asked_right_after_the_alert(start):
    client = await start("console")
    screens = await dial(client, ["1", "77002"], phone=HOUSTON_PERSON)
    assert "¿Donde esta?" in screens[1]
    assert screens[2] == "END Gracias. Avisamos al consulado donde esta."


async def test_once_every_relay_is_in_the_person_gets_a_delivery_summary(start, fake):
    client = await start("africastalking")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    total = 2 + len(HOUSTON.duty_phones)
    rows = await settled(
        client, lambda rows: sum(r.tag == f"alert:{alert.reference}" and r.status == "sent" for r in rows) == total
    )
    sent = [r for r in rows if r.tag == f"alert:{alert.reference}"]
    for n, row in enumerate(sent):
        status = "Failed" if n == 0 else "Success"
        form = payloads.at_delivery(row.provider_message_id, status)
        assert (await client.post("/africastalking/delivery", data=form)).status == 200
        summaries = [m.body for m in await messages(client) if m.to == HOUSTON_PERSON and "recibieron" in m.body]
        assert summaries == (
            []
            if n < total - 1
            else [f"Lifeline {alert.reference}: {total - 1} de {total} recibieron su aviso. No llego a: Maria."]
        )
    again = payloads.at_delivery(sent[-1].provider_message_id, "Success")
    await client.post("/africastalking/delivery", data=again)  # a repeated report sends no second summary
    assert len([m for m in await messages(client) if "recibieron" in m.body]) == 1


async def test_a_drill_tells_only_the_family_marked_as_practice(start):
    client = await start("console")
    phone = await registered(client)
    shown = await phone.send("PRUEBA")
    practice = await only_alert(client)
    assert (practice.status, shown) == (
        "drill",
        f"PRUEBA {practice.reference}: un aviso real iria al {HOUSTON.short_name} y a 2 de sus contactos. "
        "Ellos recibieron un mensaje de prueba; el consulado no.",
    )
    drills = [m for m in await messages(client) if m.body.startswith(f"PRUEBA Lifeline {practice.reference}")]
    assert sorted(m.to for m in drills) == sorted([MARIA, JOSE])
    assert not [m for m in await messages(client) if m.to in HOUSTON.duty_phones]
    assert await phone.send("CANCELAR") == "No tiene avisos abiertos."  # a drill is never an open alert


async def test_drills_are_limited_and_do_not_count_as_alerts(start):
    client = await start("console")
    phone = await registered(client)
    for _ in range(3):
        assert (await phone.send("DRILL")).startswith("DRILL ")
    assert await phone.send("PRUEBA") == "Ya hizo varias pruebas hoy. Intente manana."
    assert (await phone.send("ALERTA")).startswith("Aviso ")


async def with_pins(client) -> Phone:
    phone = await registered(client)
    await phone.send("PIN")
    await phone.send("1234")
    assert await phone.send("9876") == "Listo: sus PIN quedaron guardados."
    await phone.send("ALERTA")
    await settled(client, lambda rows: all(r.status == "sent" for r in rows))
    return phone


async def test_with_pins_the_safety_pin_cancels(start):
    client = await start("console")
    phone = await with_pins(client)
    alert = await only_alert(client)
    assert await phone.send("CANCELAR") == "Escriba su PIN:"
    assert await phone.send("1234") == f"Listo: aviso {alert.reference} cancelado. Avisamos a quienes lo recibieron."
    assert (await only_alert(client)).status == "cancelled"
    safe = [m.to for m in await relays(client, alert.reference) if "a salvo" in m.body]
    assert sorted(safe) == sorted([MARIA, JOSE, *HOUSTON.duty_phones])


@pytest.mark.parametrize(
    "pins,told",
    [(["9876"], "con su PIN de emergencia"), (["1111", "2222", "3333"], "dio 3 PIN incorrectos al cancelar")],
    ids=["duress PIN", "wrong PIN three times"],
)
async def test_the_duress_pin_looks_like_a_cancel_but_only_the_consulate_is_told(start, pins, told):
    client = await start("console")
    phone = await with_pins(client)
    alert = await only_alert(client)
    assert await phone.send("CANCELAR") == "Escriba su PIN:"
    for pin in pins[:-1]:
        assert await phone.send(pin) == "PIN incorrecto. Escriba su PIN:"
    assert await phone.send(pins[-1]) == f"Listo: aviso {alert.reference} cancelado. Avisamos a quienes lo recibieron."
    current = await only_alert(client)
    assert current.status == "open" and current.duress_at is not None
    later = [m for m in await relays(client, alert.reference) if m.tag.endswith(":later")]
    assert sorted(m.to for m in later) == sorted(HOUSTON.duty_phones)  # the family hears nothing
    # Three wrong PINs are reported as such, not as the emergency PIN.
    assert all(told in m.body and "podria estar bajo presion" in m.body for m in later), [m.body for m in later]


async def test_pins_are_stored_hashed(start, database_url):
    client = await start("console")
    await with_pins(client)
    person = await in_store(client, lambda: Person.get(Person.phone_hash == lookup_hash(HOUSTON_PERSON)))
    assert person.safety_pin and "1234" not in person.safety_pin and "9876" not in person.duress_pin


async def test_a_trusted_contact_can_alert_for_the_person(start):
    client = await start("console")
    await registered(client)  # Houston person listed Maria and Jose
    maria = Phone(client, MARIA)
    maria.seen = 1  # her notice
    reply = await maria.send("ALERTA POR +1 713 555 0142")
    alert = await only_alert(client)
    assert reply == (
        f"Aviso {alert.reference} enviado al {HOUSTON.short_name} y a los otros contactos de {HOUSTON_PERSON} (1)."
    )
    sent = await relays(client, alert.reference)
    assert Counter(m.to for m in sent) == Counter([JOSE, *HOUSTON.duty_phones, HOUSTON_PERSON])
    duty = [m for m in sent if m.to in HOUSTON.duty_phones]
    assert all(f"(avisa {MARIA}): {HOUSTON_PERSON}. " in m.body for m in duty)  # no place known: none shown
    [to_person] = [m.body for m in sent if m.to == HOUSTON_PERSON]
    assert to_person == f"Lifeline {alert.reference}: mensaje enviado por {MARIA}."  # neutral: others may read it


async def test_only_a_registered_contact_may_alert_for_someone(start):
    client = await start("console")
    await registered(client)
    stranger = Phone(client, "+17135550166")
    assert (await stranger.send("ALERTA POR 713 555 0142")).startswith("Solo un contacto registrado")
    assert await in_store(client, Alert.select().count) == 0


async def test_a_trusted_contact_can_alert_for_the_person_by_name(start):
    client = await start("console")
    person = await registered(client)
    await person.send("NOMBRE Juan Carlos Pérez")
    other = await registered(client, "+17135550155")  # someone else who listed Maria, with no name given
    await other.send("NOMBRE Ana")
    maria = Phone(client, MARIA)
    maria.seen = 2  # her two notices
    assert (await maria.send("ALERTA POR Pedro")).startswith("Solo un contacto registrado")
    # Accents, case and one wrong letter in a longer word do not matter; the number is found from the name.
    reply = await maria.send("alerta por juan peres")
    alert = await only_alert(client)
    assert reply.startswith(f"Aviso {alert.reference} enviado al {HOUSTON.short_name}")
    juan = await in_store(client, lambda: Person.get(Person.phone_hash == lookup_hash(HOUSTON_PERSON)))
    assert alert.person_id == juan.id
    assert HOUSTON_PERSON in {m.to for m in await relays(client, alert.reference)}


async def test_alert_by_a_name_two_people_share_asks_for_the_number(start):
    client = await start("console")
    for number in (HOUSTON_PERSON, "+17135550155"):
        await (await registered(client, number)).send("NOMBRE Juan")
    maria = Phone(client, MARIA)
    maria.seen = 2
    assert await maria.send("ALERTA POR Juan") == (
        "Mas de una persona con ese nombre le registro. Envie ALERTA POR y su numero."
    )
    assert await in_store(client, Alert.select().count) == 0


async def test_a_relay_not_delivered_goes_out_again_through_the_other_provider(start, fake):
    client = await start("africastalking,twilio", PUBLIC_URL="https://lifeline.example.org")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    tag = f"alert:{alert.reference}"
    rows = await settled(client, lambda rows: sum(r.tag == tag and r.status == "sent" for r in rows) == 4)
    first, *rest = [r for r in rows if r.tag == tag]
    await client.post("/africastalking/delivery", data=payloads.at_delivery(first.provider_message_id, "Failed"))
    rows = await settled(client, lambda rows: sum(r.tag == tag for r in rows) == 5 and rows[-1].status == "sent")
    copy = rows[-1]
    assert (copy.to, copy.provider, copy.body) == (first.to, "twilio", first.body)
    for row in rest:
        await client.post("/africastalking/delivery", data=payloads.at_delivery(row.provider_message_id, "Success"))
    form = payloads.twilio_status(copy.provider_message_id, "delivered")
    headers = payloads.twilio_signature(fake.twilio_token, "https://lifeline.example.org/twilio/status", form)
    await client.post("/twilio/status", data=form, headers=headers)
    summary = [m.body for m in await messages(client) if "recibieron" in m.body]
    assert summary == [f"Lifeline {alert.reference}: 4 de 4 recibieron su aviso."]


async def test_relays_give_the_name_the_person_registered(start):
    client = await start("console")
    phone = await registered(client)
    assert await phone.send("NOMBRE Maria Hernandez") == "Listo: Maria Hernandez."
    await phone.send("ALERTA")
    alert = await only_alert(client)
    sent = await relays(client, alert.reference)
    assert sent and all(f"Maria Hernandez ({HOUSTON_PERSON}) pide ayuda" in m.body for m in sent)


async def test_a_guatemalan_alert_pages_guatemalas_consulate(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("PAIS GT")
    await phone.send("1")  # consent
    confirmation = await phone.send("ALERTA")
    gt_houston = Directory.load(ROOT / "config" / "consulates.yaml").by_id("gt-houston")
    alert = await only_alert(client)
    assert alert.consulate == "gt-houston"
    assert confirmation.startswith(
        f"Aviso {alert.reference} enviado al {gt_houston.short_name}. Luego, para avisar a su familia, envie FAMILIA."
    )
    assert sorted(m.to for m in await relays(client, alert.reference)) == sorted(gt_houston.duty_phones)


async def test_a_rostered_phone_is_paged_and_may_answer_while_on_shift(start, clock, make_settings, capsys):
    settings = make_settings("console")
    officer = "+17135550180"
    assert run.run_roster(settings, roster_args("add", consulate="houston", phone="(713) 555-0180")) == 0
    assert "shift 1: +1******0180 on duty for houston" in capsys.readouterr().err
    client = await start("console")
    phone, alert = await raised(client)
    assert officer in {m.to for m in await relays(client, alert.reference)}  # paged with the duty phones
    answers = await Phone(client, officer).send_all(f"OK {alert.reference}")  # the relay, then the answer
    assert answers[-1].startswith(f"{alert.reference} confirmado")
    await client.close()
    assert run.run_roster(settings, roster_args("list")) == 0
    assert f"1\thouston\t{officer}\t" in capsys.readouterr().out
    assert run.run_roster(settings, roster_args("end", shift=1)) == 0
    client = await start("console")
    second = Phone(client, "+17135550144")
    await second.send("ALERTA")
    [_, later] = await in_store(client, lambda: list(Alert.select().order_by(Alert.id)))
    assert officer not in {m.to for m in await relays(client, later.reference)}  # off shift: not paged
    answers = await Phone(client, officer).send_all(f"OK {later.reference}")
    assert not answers[-1].startswith(later.reference)  # and no longer acts on alerts
    assert (await in_store(client, lambda: Alert.get_by_id(later.id))).acknowledged_at is None


def roster_args(action: str, **options) -> argparse.Namespace:
    values = {"consulate": None, "phone": None, "starts": None, "ends": None, "shift": None, **options}
    return argparse.Namespace(action=action, **values)


def test_roster_refuses_what_it_cannot_use(make_settings, capsys):
    settings = make_settings("console")
    assert run.run_roster(settings, roster_args("add", consulate="nowhere", phone="+17135550180")) == 2
    assert run.run_roster(settings, roster_args("add", consulate="houston", phone="not a phone")) == 2
    assert run.run_roster(settings, roster_args("end")) == 2
    assert run.run_roster(settings, roster_args("end", shift=99)) == 2
    errors = capsys.readouterr().err
    assert "'nowhere' is not a consulate id" in errors and "needs --shift" in errors and "no running" in errors
