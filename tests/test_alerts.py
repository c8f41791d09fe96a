"""ALERT and I'M SAFE end to end: webhooks in, relays to contacts and duty phones out, cancel."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from handlers.consulates import Directory
from store.models import Alert, OutboxMessage
from tests import payloads
from tests.conftest import ROOT, in_store
from tests.test_flows_sms import Phone
from tests.test_outbox import settled

HOUSTON_PERSON = "+17135550142"  # a Houston area code: the Houston consulate is told
MARIA, JOSE = "+17135550199", "+17135550188"
DIRECTORY = Directory.load(ROOT / "config" / "consulates.yaml")
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
    return [m for m in await messages(client) if m.tag == f"alert:{reference}"]


async def only_alert(client) -> Alert:
    [alert] = await in_store(client, lambda: list(Alert.select()))
    return alert


async def test_alert_by_sms_tells_every_contact_and_the_houston_duty_phones(start):
    client = await start("console")
    phone = await registered(client)
    confirmation = await phone.send("ALERTA me detuvieron en la 59")
    alert = await only_alert(client)
    assert REFERENCE.match(alert.reference)
    assert confirmation == (
        f"Aviso {alert.reference} enviado a 2 contacto(s) y al {HOUSTON.short_name}. Si ya esta bien, envie CANCELAR."
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
        f"END Aviso {alert.reference} enviado a 2 contacto(s) y al {HOUSTON.short_name}. "
        "Si ya esta bien, envie CANCELAR."
    )
    assert len(await relays(client, alert.reference)) == 2 + len(HOUSTON.duty_phones)


async def test_someone_never_registered_still_reaches_the_consulate(start):
    client = await start("console")
    confirmation = await Phone(client, HOUSTON_PERSON).send("ALERTA")
    alert = await only_alert(client)
    assert confirmation.startswith(f"Aviso {alert.reference} enviado a 0 contacto(s) y al {HOUSTON.short_name}")
    assert sorted(m.to for m in await relays(client, alert.reference)) == sorted(HOUSTON.duty_phones)


async def test_a_number_no_consulate_covers_reaches_the_central_number(start):
    client = await start("console")
    await Phone(client, "+525512345678").send("ALERTA")
    alert = await only_alert(client)
    assert alert.consulate == "central"
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
    assert await phone.send("ALERTA sigo aqui") == f"Aviso {alert.reference} actualizado."
    assert len(await messages(client)) == first + 1  # only the confirmation: no second round of relays
    clock.advance(301)
    await phone.send("ALERTA ahora en Victoria")
    updates = [m for m in await relays(client, alert.reference) if "sigue pidiendo ayuda" in m.body]
    assert Counter(m.to for m in updates) == Counter([MARIA, JOSE, *HOUSTON.duty_phones])
    assert all("ahora en Victoria" in m.body for m in updates)


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
