"""Issue 13, points 1, 2 and 6: a cancel under duress is invisible on the phone, PINs are set, changed and
removed plainly, and a one-key cancel on USSD is confirmed first. Everything through the real webhooks."""

from __future__ import annotations

import re

import pytest

from gateway import keys
from store.crypto import lookup_hash
from store.models import Alert, OutboxMessage, Person
from tests.conftest import in_store
from tests.test_alerts import DIRECTORY, HOUSTON, MARIA
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled

REAL, FORCED = "+17135550142", "+17135550143"  # both Houston numbers: one cancels for real, one under duress
SAFETY, EMERGENCY = "1234", "9876"
OFFICER = HOUSTON.duty_phones[0]
LEAVING = ("pending", "sending")


async def set_up(client, number: str) -> Phone:
    """Consent, two contacts, a home location, and both PINs (by USSD, as the SMS path advises)."""
    phone = Phone(client, number)
    await phone.send("FAMILIA +1 713 555 0199 Maria")
    await phone.send("1")
    await phone.send("FAMILIA +1 713 555 0188 Jose")
    await phone.send("UBICACION 77002")
    saved = await dial(client, ["5", "5", SAFETY, EMERGENCY], phone=number)
    assert saved[-1] == "END Listo: sus PIN quedaron guardados."
    return phone


async def alerts_of(client, number: str) -> list[Alert]:
    def query():
        person = Person.get(Person.phone_hash == lookup_hash(number))
        return list(Alert.select().where(Alert.person == person.id).order_by(Alert.id))

    return await in_store(client, query)


async def quiet(client) -> None:
    """Waits until nothing is waiting to leave."""
    await settled(client, lambda rows: not any(r.status in LEAVING for r in rows))


def normalised(texts: list[str | None], references: list[str]) -> list[str | None]:
    """References differ between two runs: each becomes its rank among the person's alerts."""
    if not references:
        return texts
    pattern = re.compile("|".join(references))
    return [
        pattern.sub(lambda m: f"<alert {references.index(m.group(0)) + 1}>", t) if t is not None else None
        for t in texts
    ]


# One script, run by both phones in lockstep (same clock): what each phone sees is kept and compared.
# ("sms", text), ("ussd", inputs), ("officer", text with {first} for the person's first alert), ("contact",
# text with {me} for the person's number), ("later", seconds: the clock moves and scheduled work runs).
SCRIPT = [
    ("sms", "ALERTA me llevan"),
    ("sms", "CANCELAR"),
    ("sms", "{pin}"),
    ("sms", "CANCELAR"),
    ("ussd", ["2"]),
    ("ussd", []),
    ("officer", "OK {first}"),
    ("officer", "R {first} ¿Esta bien?"),
    ("sms", "Si, todo bien"),
    ("ussd", ["5", "5", "1", "{pin}", "{new}", "8765"]),  # PINs changed with the PIN the person gave
    ("ussd", ["1"]),
    ("sms", "ALERTA"),
    ("sms", "ALERTA!!!"),
    ("ussd", ["2"]),
    ("ussd", ["2", "1"]),
    ("later", 1000),
    ("ussd", ["2", "2"]),
    ("ussd", ["2", "2", "{new}"]),
    ("sms", "CANCELAR"),
    ("ussd", ["2"]),
    ("contact", "ALERTA POR {me}"),
    ("sms", "CANCELAR"),
    ("ussd", ["5", "5", "2", "{new}"]),  # PINs removed with it
    ("sms", "CANCELAR"),
    ("sms", "CANCELAR"),
    ("ussd", ["5", "5"]),
]
NEW = "4321"


async def run_script(client, phones: dict[str, Phone], pins: dict[str, str]) -> dict[str, list[str | None]]:
    seen: dict[str, list[str | None]] = {number: [] for number in phones}
    for kind, what in SCRIPT:
        if kind == "later":
            await quiet(client)
            client.app[keys.CLOCK].advance(what)
            await client.app[keys.CONVERSATION].send_due()
            await quiet(client)
            for number, phone in phones.items():
                seen[number].append(await sent_meanwhile(phone))
            continue
        for number, phone in phones.items():
            if kind == "sms":
                seen[number].append(await phone.send(what.format(pin=pins[number])))
            elif kind == "ussd":
                inputs = [i.format(pin=pins[number], new=NEW) for i in what]
                seen[number].append((await dial(client, inputs, phone=number))[-1])
            else:
                first = (await alerts_of(client, number))[0].reference
                sender = Phone(client, OFFICER if kind == "officer" else MARIA)
                sender.seen = len(await _to(client, sender.number))
                await sender.send_all(what.format(first=first, me=number))
                seen[number].append(await sent_meanwhile(phone))
    return seen


async def sent_meanwhile(phone: Phone) -> str:
    """What reached the phone's outbox since it last looked, though it sent nothing."""
    mine = await _to(phone.client, phone.number)
    new, phone.seen = mine[phone.seen :], len(mine)
    return " | ".join(new)


async def _to(client, number: str) -> list[str]:
    rows = await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
    return [r.body for r in rows if r.to == number]


async def test_after_a_duress_cancel_the_phone_sees_exactly_what_a_real_cancel_shows(start, fake, clock):
    client = await start("africastalking")
    phones = {REAL: await set_up(client, REAL), FORCED: await set_up(client, FORCED)}
    seen = await run_script(client, phones, {REAL: SAFETY, FORCED: EMERGENCY})
    await quiet(client)

    references = {number: [a.reference for a in await alerts_of(client, number)] for number in phones}
    real, forced = (normalised(seen[n], references[n]) for n in (REAL, FORCED))
    assert real == forced
    # The script did what it says: the answers are the ones a real cancel leads to.
    assert real[1:5] == [
        "Escriba su PIN:",
        "Listo: aviso <alert 1> cancelado. Avisamos a quienes lo recibieron.",
        "No tiene avisos abiertos.",
        "END No tiene avisos abiertos.",
    ]
    assert real[6:8] == ["", ""]  # the officer's OK and R reach neither phone
    assert real[8].startswith("Para pedir ayuda ahora responda 1.")  # no answer to the officer
    assert real[9] == "END Listo: sus PIN quedaron guardados."
    # USSD 1: a new alert
    assert real[10].startswith("END Aviso <alert 2> enviado al Consulado en Houston y a 2 de sus contactos.")
    assert real[11].startswith("Aviso <alert 2>: enviado otra vez al ")
    assert real[13].startswith("CON ¿Ya esta a salvo? Esto cancela su aviso <alert 2>.")
    assert real[15].startswith("Lifeline <alert 2>: 0 de 4 recibieron su aviso.")  # the summary, after a while
    assert real[17] == "END Listo: aviso <alert 2> cancelado. Avisamos a quienes lo recibieron."
    assert real[18:20] == ["No tiene avisos abiertos.", "END No tiene avisos abiertos."]
    assert real[20] == f"Lifeline <alert 3>: mensaje enviado por {MARIA}."  # a contact alerts for the person
    assert real[21] == "Escriba su PIN:"
    assert real[22] == "END Listo: quitamos sus PIN. Para cancelar un aviso ya no se pide PIN."
    assert real[23] == "Listo: aviso <alert 3> cancelado. Avisamos a quienes lo recibieron."  # no PIN asked
    assert real[24] == "No tiene avisos abiertos."
    assert real[25].startswith("CON PIN de seguridad (4 numeros)")

    # Everything that reached each phone at the carrier, scheduled news included, is the same too.
    def received(number):
        return normalised([m.body for m in fake.accepted_to(number)], references[number])

    assert sorted(received(REAL)) == sorted(received(FORCED))  # the carrier may take them in another order
    assert len(received(REAL)) >= 10

    # The consulate knows: the duress relay, the later alerts marked, the first alert still open.
    first, second, third = references[FORCED]
    duty = await _to(client, OFFICER)
    [duress] = [b for b in duty if b.startswith(f"ALERTA Lifeline {first}:") and "cancelo" in b]
    assert f"{FORCED} cancelo con su PIN de emergencia: podria estar bajo presion." in duress
    for earlier, later in ((first, second), (second, third)):
        [relay] = [b for b in duty if b.startswith(f"ALERTA {later}")]
        assert f"OJO: su aviso {earlier} sigue abierto, cancelado quizas bajo presion." in relay
    assert not [b for b in duty if "OJO" in b and any(r in b for r in references[REAL])]
    # Every cancel by the forced phone was under duress: the PINs it changed and removed still protect it.
    assert [(a.status, a.duress_reason) for a in await alerts_of(client, FORCED)] == [("open", "pin")] * 3
    assert [a.status for a in await alerts_of(client, REAL)] == ["cancelled"] * 3
    assert len([b for b in duty if "cambio o quito sus PIN con su PIN de emergencia" in b]) == 2
    # The officer who tried to write to the phone was told why it was not sent.
    assert any(b.startswith(f"{first}: no enviado. Se cancelo quizas bajo presion") for b in duty)
    # The family heard nothing of a cancel for the first alert: it is not over.
    assert not [b for b in await _to(client, MARIA) if b.startswith(f"Lifeline {first}:") and "a salvo" in b]


async def test_after_a_cancel_real_or_forced_texts_no_longer_go_to_the_officer_who_wrote(start):
    client = await start("console")
    for number, pin in ((REAL, SAFETY), (FORCED, EMERGENCY)):
        phone = await set_up(client, number)
        await phone.send("ALERTA")
        [alert] = await alerts_of(client, number)
        await Phone(client, OFFICER).send_all(f"R {alert.reference} ¿Donde esta?")
        answered = f"Lifeline {alert.reference}: enviamos su respuesta a su consulado."
        wrote = f"Lifeline {alert.reference}, su consulado: ¿Donde esta?"
        assert await phone.send_all("en la casa") == [wrote, answered]
        await dial(client, ["2", "2", pin], phone=number)
        assert (await phone.send("gracias")).startswith("Para pedir ayuda ahora responda 1."), number


async def test_a_pin_asked_after_an_officer_wrote_cancels_and_never_reaches_the_officer(start):
    client = await start("console")
    phone = await set_up(client, REAL)
    await phone.send("ALERTA")
    [alert] = await alerts_of(client, REAL)
    officer = Phone(client, OFFICER)
    await officer.send_all(f"R {alert.reference} ¿Donde esta?")
    wrote = f"Lifeline {alert.reference}, su consulado: ¿Donde esta?"
    assert await phone.send_all("CANCELAR") == [wrote, "Escriba su PIN:"]  # asked after the officer wrote
    assert (await phone.send(SAFETY)).startswith(f"Listo: aviso {alert.reference} cancelado.")
    assert not [b for b in await _to(client, OFFICER) if SAFETY in b]


async def test_three_wrong_pins_are_reported_as_such_and_the_phone_sees_a_cancel(start):
    client = await start("console")
    phone = await set_up(client, FORCED)
    await phone.send("ALERTA")
    [alert] = await alerts_of(client, FORCED)
    await phone.send("CANCELAR")
    assert await phone.send("1111") == "PIN incorrecto. Escriba su PIN:"
    assert await phone.send("2222") == "PIN incorrecto. Escriba su PIN:"
    assert await phone.send("3333") == f"Listo: aviso {alert.reference} cancelado. Avisamos a quienes lo recibieron."
    assert await phone.send("CANCELAR") == "No tiene avisos abiertos."
    [told] = [b for b in await _to(client, OFFICER) if b.startswith(f"ALERTA Lifeline {alert.reference}:")]
    assert "dio 3 PIN incorrectos al cancelar" in told and "PIN de emergencia" not in told
    assert (await alerts_of(client, FORCED))[0].duress_reason == "tries"


async def test_phones_paged_by_an_escalation_hear_of_the_duress_too(start, clock):
    client = await start("console")
    phone = await set_up(client, FORCED)
    await phone.send("ALERTA")
    [alert] = await alerts_of(client, FORCED)
    clock.advance(601)  # alert.escalate_after_seconds: backup and central phones are paged
    await client.app[keys.CONVERSATION].send_due()
    await phone.send("CANCELAR")
    await phone.send(EMERGENCY)
    rows = await in_store(client, lambda: list(OutboxMessage.select()))
    told = {r.to for r in rows if r.body.startswith(f"ALERTA Lifeline {alert.reference}: {FORCED} cancelo")}
    assert told == {*HOUSTON.duty_phones, *HOUSTON.backup_phones, *DIRECTORY.central.phones}


async def test_a_contact_added_after_a_duress_cancel_gets_no_relay(start):
    client = await start("console")
    phone = await set_up(client, FORCED)
    await phone.send("ALERTA")
    await phone.send("CANCELAR")
    await phone.send(EMERGENCY)
    await phone.send("FAMILIA +1 713 555 0177 Ana")
    # As after a real cancel: the notice that she was listed, and no alert.
    assert [b[:30] for b in await _to(client, "+17135550177")] == ["Lifeline: +17135550143 le puso"]


# -- 6. A one-key cancel on USSD is confirmed first ------------------------------------------------------


async def test_ussd_2_asks_before_cancelling_and_1_keeps_the_alert(start):
    client = await start("console")
    phone = Phone(client, REAL)
    await phone.send("ALERTA")
    [alert] = await alerts_of(client, REAL)
    ask = (await dial(client, ["2"], phone=REAL))[-1]
    assert ask == (
        f"CON ¿Ya esta a salvo? Esto cancela su aviso {alert.reference}.\n"
        "1. No, sigo necesitando ayuda\n2. Si, cancelar el aviso\n0 Atras"
    )
    assert (await dial(client, ["2", "1"], phone=REAL))[-1] == f"END Su aviso {alert.reference} sigue activo."
    assert (await dial(client, ["2", "0"], phone=REAL))[-1].startswith("CON Lifeline\n1. Alerta")
    # Someone pressing 1 on every screen: it raises or repeats the alert, and never cancels it.
    await dial(client, ["1", "1", "1"], phone=REAL)
    await dial(client, ["2", "1"], phone=REAL)
    assert [a.status for a in await alerts_of(client, REAL)] == ["open"]
    assert not [b for b in await _to(client, OFFICER) if "a salvo" in b]
    done = (await dial(client, ["2", "2"], phone=REAL))[-1]
    assert done == f"END Listo: aviso {alert.reference} cancelado. Avisamos a quienes lo recibieron."
    assert [a.status for a in await alerts_of(client, REAL)] == ["cancelled"]


async def test_ussd_cancel_asks_the_pin_after_the_confirmation_and_sms_cancels_as_before(start):
    client = await start("console")
    phone = await set_up(client, REAL)
    await phone.send("ALERTA")
    assert (await dial(client, ["2", "2"], phone=REAL))[-1] == "CON Escriba su PIN:\n0 Atras"
    assert (await dial(client, ["2", "2", "5555"], phone=REAL))[-1] == "CON PIN incorrecto. Escriba su PIN:\n0 Atras"
    too_long = (await dial(client, ["2", "2", "12345"], phone=REAL))[-1]
    assert too_long == "CON El PIN debe tener 4 numeros.\nEscriba su PIN:\n0 Atras"  # not counted as a try
    assert (await dial(client, ["2", "2", SAFETY], phone=REAL))[-1].startswith("END Listo: aviso ")
    await phone.send("ALERTA")
    assert await phone.send("CANCELAR") == "Escriba su PIN:"  # SMS: no confirmation, the PIN is enough
    assert (await phone.send(SAFETY)).startswith("Listo: aviso ")


# -- 2. PINs --------------------------------------------------------------------------------------------

PIN_SAFETY = "CON PIN de seguridad (4 numeros) para cancelar un aviso:"


async def consented(client) -> Phone:
    phone = Phone(client, REAL)
    await phone.send("UBICACION 77002")
    await phone.send("1")  # agrees to the consent text
    return phone


FOUR_DIGITS = "CON El PIN debe tener 4 numeros.\n"


@pytest.mark.parametrize("typed", ["12", "12345", "12a4", "１２３４"])
async def test_a_pin_is_exactly_four_digits(start, typed):
    client = await start("console")
    await consented(client)
    screens = await dial(client, ["5", "3", typed], phone=REAL)  # My contacts (none yet) → 3 My safety PIN
    assert screens[-2].startswith(PIN_SAFETY)
    assert screens[-1] == FOUR_DIGITS + PIN_SAFETY.removeprefix("CON ") + "\n0 Atras"
    assert await in_store(client, lambda: Person.get(Person.phone_hash == lookup_hash(REAL)).safety_pin) is None


async def test_equal_pins_are_refused_saying_why_and_only_the_second_is_asked_again(start):
    client = await start("console")
    await consented(client)
    screens = await dial(client, ["5", "3", SAFETY, SAFETY, "12", EMERGENCY], phone=REAL)
    assert screens[3].startswith("CON PIN de emergencia (4 numeros, otro): uselo si le obligan a cancelar.")
    assert screens[4] == "CON Los dos PIN deben ser distintos. PIN de emergencia (4 numeros):\n0 Atras"
    assert screens[5].startswith(FOUR_DIGITS + "Los dos PIN deben ser distintos.")
    assert screens[6] == "END Listo: sus PIN quedaron guardados."
    assert all(len(s) <= 182 for s in screens)


async def test_by_sms_the_person_is_told_pins_stay_in_the_messages(start):
    client = await start("console")
    phone = await consented(client)
    warning = await phone.send("PIN")
    assert warning.startswith("Lo que envia por SMS queda en sus mensajes: mejor marque el codigo de Lifeline.")
    assert await phone.send("12") == "El PIN debe tener 4 numeros.\n" + warning
    await phone.send(SAFETY)
    assert await phone.send(SAFETY) == "Los dos PIN deben ser distintos. PIN de emergencia (4 numeros):"
    assert await phone.send(EMERGENCY) == "Listo: sus PIN quedaron guardados."
    menu = await phone.send("PIN")  # PINs set: change or remove, with the same warning
    assert menu.startswith("Sus PIN. Lo que envia por SMS queda en sus mensajes")
    assert menu.endswith("\n1 Cambiar mis PIN\n2 Quitar mis PIN")


async def test_pins_change_with_the_current_safety_pin(start):
    client = await start("console")
    phone = await set_up(client, REAL)
    assert (await dial(client, ["5", "5"], phone=REAL))[-1] == (
        "CON Sus PIN\n1. Cambiar mis PIN\n2. Quitar mis PIN\n0 Atras"
    )
    wrong = (await dial(client, ["5", "5", "1", "0000"], phone=REAL))[-1]
    assert wrong == "CON PIN incorrecto. Su PIN de seguridad actual:\n0 Atras"
    screens = await dial(client, ["5", "5", "1", SAFETY, "4321", "8765"], phone=REAL)
    assert screens[4].startswith(PIN_SAFETY)
    assert screens[-1] == "END Listo: sus PIN quedaron guardados."
    await phone.send("ALERTA")
    await phone.send("CANCELAR")
    assert await phone.send(SAFETY) == "PIN incorrecto. Escriba su PIN:"  # the old one no longer works
    assert (await phone.send("4321")).startswith("Listo: aviso ")
    assert [a.status for a in await alerts_of(client, REAL)] == ["cancelled"]


async def test_the_emergency_pin_changes_and_removes_pins_only_in_appearance(start):
    client = await start("console")
    phone = await set_up(client, FORCED)
    await phone.send("ALERTA")
    # Forced to change the PINs, the person gives the emergency PIN: the phone shows what the safety PIN
    # would have shown, the consulate is told, and the "new safety PIN" is an emergency PIN.
    screens = await dial(client, ["5", "5", "1", EMERGENCY, "4321", "8765"], phone=FORCED)
    assert screens[4].startswith(PIN_SAFETY) and screens[-1] == "END Listo: sus PIN quedaron guardados."
    await phone.send("CANCELAR")
    assert (await phone.send("4321")).startswith("Listo: aviso ")
    await phone.send("ALERTA")
    await phone.send("CANCELAR")
    assert (await phone.send(SAFETY)).startswith("Listo: aviso ")  # the real safety PIN still cancels
    # Forced to remove them, with the (new) emergency PIN: no PIN is asked any more, and no cancel is real.
    removed = (await dial(client, ["5", "5", "2", "4321"], phone=FORCED))[-1]
    assert removed == "END Listo: quitamos sus PIN. Para cancelar un aviso ya no se pide PIN."
    await phone.send("ALERTA")
    assert (await phone.send("CANCELAR")).startswith("Listo: aviso ")
    states = [(a.status, a.duress_reason) for a in await alerts_of(client, FORCED)]
    assert states == [("open", "pin"), ("cancelled", "earlier"), ("open", "pin")]
    told = [b for b in await _to(client, OFFICER) if "cambio o quito sus PIN con su PIN de emergencia" in b]
    assert len(told) == 2
    # The phone is shown no PINs: PIN set-up starts afresh, as after a real removal.
    assert (await dial(client, ["5", "5"], phone=FORCED))[-1].startswith(PIN_SAFETY)


async def test_pins_are_removed_with_the_current_safety_pin(start):
    client = await start("console")
    phone = await set_up(client, REAL)
    screens = await dial(client, ["5", "5", "2", "0000", SAFETY], phone=REAL)
    assert screens[3] == "CON Su PIN de seguridad actual:\n0 Atras"
    assert screens[4] == "CON PIN incorrecto. Su PIN de seguridad actual:\n0 Atras"
    assert screens[5] == "END Listo: quitamos sus PIN. Para cancelar un aviso ya no se pide PIN."
    await phone.send("ALERTA")
    assert (await phone.send("CANCELAR")).startswith("Listo: aviso ")  # no PIN asked


async def test_wrong_current_pins_lock_the_change_for_the_session_and_the_day(start):
    client = await start("console")
    await set_up(client, REAL)
    screens = await dial(client, ["5", "5", "2", "0000", "0001", "0002"], phone=REAL)
    assert screens[-1] == "END PIN incorrecto. Por seguridad, intente mas tarde."
    await dial(client, ["5", "5", "2", "0003"], phone=REAL)
    await dial(client, ["5", "5", "2", "0004"], phone=REAL)  # the fifth wrong PIN today
    # Even the right PIN is refused now: nobody holding the phone can try the 10,000 PINs.
    assert (await dial(client, ["5", "5", "2", SAFETY], phone=REAL))[-1] == (
        "END PIN incorrecto. Por seguridad, intente mas tarde."
    )
    assert await in_store(client, lambda: Person.get(Person.phone_hash == lookup_hash(REAL)).safety_pin)


def test_no_jargon_for_the_emergency_pin():
    from tests.conftest import ROOT

    for language in ("es", "en"):
        text = (ROOT / "templates" / f"{language}.yaml").read_text(encoding="utf-8").lower()
        assert "coaccion" not in text and "coacción" not in text and "duress pin" not in text


async def test_the_desk_sees_the_duress_and_nothing_it_does_reaches_the_phone(start):
    from tests.console import log_in, make_account, post_form

    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    phone = await set_up(client, FORCED)
    await phone.send("ALERTA")
    await phone.send("CANCELAR")
    await phone.send("1111")
    await phone.send("2222")
    await phone.send("3333")  # three wrong PINs
    await phone.send("ALERTA")  # a new alert, as after any cancel
    first, second = [a.reference for a in await alerts_of(client, FORCED)]
    await log_in(client, "olga@example.org")
    desk = await (await client.get("/console/")).text()
    assert desk.count("¿bajo presión?") == 2  # both open alerts are marked
    page = await (await client.get(f"/console/alerts/{first}")).text()
    assert "Tres PIN incorrectos al cancelar: puede estar bajo presión" in page
    assert "Enviado mientras otro aviso" in await (await client.get(f"/console/alerts/{second}")).text()
    seen = len(await _to(client, FORCED))
    for verb in ("ack", "reply", "close"):
        await post_form(client, f"/console/alerts/{first}", f"/console/alerts/{first}/{verb}", {"text": "¿Esta bien?"})
    assert len(await _to(client, FORCED)) == seen  # the phone still sees its first alert cancelled
    assert [a.status for a in await alerts_of(client, FORCED)] == ["closed", "open"]
