"""Issue 12: an alert is never lost in a frightened person's hands, and nobody who was told is left in the
dark. One test per numbered case of the issue (test_case_NN_...), each through the real webhooks, and the
intake table: the words people actually type under stress."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway import encoding, keys
from store.models import Alert, AlertNote
from tests import payloads
from tests.conftest import in_store
from tests.test_alerts import (
    DIRECTORY,
    HOUSTON,
    HOUSTON_PERSON,
    JOSE,
    MARIA,
    messages,
    only_alert,
    registered,
    relays,
)
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled

MEXICAN = "+525555500142"  # no US area code: the alert goes to the 24/7 central first
CHICAGO = DIRECTORY.by_id("chicago")


async def duty_relays(client, reference: str) -> list:
    return [m for m in await relays(client, reference) if m.to in HOUSTON.duty_phones]


async def to(client, number: str) -> list[str]:
    """Every text written to a number, oldest first (failed ones too: what the outbox holds)."""
    return [m.body for m in await messages(client) if m.to == number]


async def officer_of(client, number: str = HOUSTON.duty_phones[0]) -> Phone:
    """A duty phone that already saw what it was sent."""
    officer = Phone(client, number)
    officer.seen = len(await to(client, number))
    return officer


# -- 1. Intake that never misses a cry for help ------------------------------------------------------

# (what a frightened person types, the language of the answer, the note kept with the alert)
DISTRESS = [
    # Spanish
    ("ALERTA!!!", "es", None),
    ("¡¡ALERTA!!", "es", None),
    ("ALERTA!!! me llevan", "es", "me llevan"),
    ("🆘 ALERTA", "es", "ALERTA"),
    ("auxilio!!", "es", None),
    ("socorro", "es", None),
    ("S.O.S.", "es", None),
    ("alerta", "es", None),
    ("Alerta.", "es", None),
    ("ALERTAAAA", "es", None),
    ("alertaaa me agarro la migra", "es", "me agarro la migra"),
    ("AUXILIOOOO", "es", None),
    ("¡Auxilio!", "es", None),
    ("Socorro!!! ayudenme", "es", "ayudenme"),
    ("SOCORROOO", "es", None),
    ("sos", "es", None),
    ("SOS!!!", "es", None),
    ("s.o.s", "es", None),
    ("Sos ayuda", "es", "ayuda"),
    ("🆘", "es", None),
    ("🚨", "es", None),
    ("🆘🆘🆘", "es", None),
    ("🚨🚨 me detuvieron", "es", "me detuvieron"),
    ("EMERGENCIA", "es", None),
    ("emergencia!!", "es", None),
    ("Emergencia, me llevan detenido", "es", "me llevan detenido"),
    ("AYUDENME", "es", None),
    ("ayúdenme por favor", "es", "por favor"),
    ("Ayudenmeee", "es", None),
    ("AYUDAME", "es", None),
    ("ayúdame!!", "es", None),
    ("alerta por favor", "es", None),
    ("ALERTA POR FAVOR ME LLEVAN", "es", "ME LLEVAN"),
    ("alerta por la migra", "es", "la migra"),
    ("Alerta: estoy en la 59", "es", "estoy en la 59"),
    ("alerta,me llevan", "es", "me llevan"),
    ("...alerta", "es", None),
    ("🙏 alerta", "es", None),
    ("  ¡ALERTA!  ", "es", None),
    ("ALÉRTA", "es", None),
    ("alrta", "es", None),
    ("ALERTA🆘", "es", None),
    ("PELIGRO", "es", None),
    ("peligro!! la migra", "es", "la migra"),
    ("AUXILIO AUXILIO", "es", "AUXILIO"),
    ("Auxilio me llevan", "es", "me llevan"),
    ("Socorro, estoy en Victoria", "es", "estoy en Victoria"),
    ("AUXILIO!!!!!!!!!!", "es", None),
    # English
    ("ALERT", "en", None),
    ("alert!!!", "en", None),
    ("ALERT!!! they are taking me", "en", "they are taking me"),
    ("Alert.", "en", None),
    ("ALERTTT", "en", None),
    ("EMERGENCY", "en", None),
    ("emergency!!", "en", None),
    ("Emergency - detained at the gas station", "en", "detained at the gas station"),
    ("SOS please", "es", "please"),  # SOS belongs to no language: the number's country decides
    ("S.O.S", "es", None),
    ("DANGER", "en", None),
    ("danger!!", "en", None),
    ("MAYDAY", "en", None),
    ("mayday mayday", "en", "mayday"),
    ("🚨 ALERT", "es", "ALERT"),
    ("Save me", "en", None),
    ("SAVE ME!!!", "en", None),
    ("alert: I'm at the gas station", "en", "I'm at the gas station"),
    ("¡ALERT!", "en", None),
    ("Alert, ICE is here", "en", "ICE is here"),
]

# Ordinary texts: never an alert (each gets its own answer, or the help with the alert one reply away).
ORDINARY = [
    "hola",
    "Hola buenas tardes",
    "gracias!!",
    "quien es?",
    "🙏🙏",
    "❤️",
    "ok",
    "si",
    "2",
    "CONSULADO 77002",
    "CITA",
    "CANCELAR",
    "ESTOY BIEN",
    "FAMILIA",
    "AYUDA",
    "Hello",
    "thanks",
    "who is this",
    "HELP",
    "INFO",
    "SAFE",
    "Ya llegue a la casa",
    "sostengo",
]


def test_the_intake_table_is_large_enough():
    languages = Counter(language for _, language, _ in DISTRESS)
    assert len(DISTRESS) >= 60 and languages["es"] >= 20 and languages["en"] >= 15


@pytest.mark.parametrize("text,language,note", DISTRESS, ids=[d[0] for d in DISTRESS])
async def test_case_01_intake_table_every_cry_for_help_raises_an_alert(start, text, language, note):
    client = await start("console")
    reply = await Phone(client, HOUSTON_PERSON).send(text)
    alert = await only_alert(client)
    assert alert.status == "open" and alert.note == note
    assert reply.startswith({"es": "Aviso ", "en": "Message "}[language]), reply
    assert Counter(m.to for m in await relays(client, alert.reference)) == Counter(HOUSTON.duty_phones)


@pytest.mark.parametrize("text", ORDINARY)
async def test_case_01_intake_table_ordinary_texts_raise_nothing(start, text):
    client = await start("console")
    reply = await Phone(client, HOUSTON_PERSON).send(text)
    assert await in_store(client, Alert.select().count) == 0
    assert not [m for m in await messages(client) if m.to in HOUSTON.duty_phones]
    assert text.upper() in ("HELP", "INFO") or reply is not None


async def test_case_01_any_text_is_one_reply_away_from_help(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    help_text = await phone.send("me estan siguiendo, tengo miedo")
    assert help_text.startswith("Para pedir ayuda ahora responda 1.")
    assert (await phone.send("1")).startswith("Aviso ")
    alert = await only_alert(client)
    assert alert.note == "me estan siguiendo, tengo miedo"  # what they wrote first goes with the alert
    assert Counter(m.to for m in await relays(client, alert.reference)) == Counter(HOUSTON.duty_phones)


async def test_case_01_help_me_is_the_carriers_help_and_still_one_reply_from_an_alert(start):
    phone = Phone(await start("console"), HOUSTON_PERSON)
    assert (await phone.send("HELP ME")).startswith("Para pedir ayuda ahora responda 1.")
    assert (await phone.send("1")).startswith("Aviso ")


# -- 2. On the first screen of every dial, 1 raises the alert ----------------------------------------


async def test_case_02_a_dropped_session_is_offered_as_another_line_and_1_still_raises_the_alert(start):
    client = await start("console")
    await dial(client, ["4", "1"], phone=HOUSTON_PERSON, session="booking-dropped")  # the network drops it
    screens = await dial(client, ["1"], phone=HOUSTON_PERSON, session="redial")
    assert screens[0].startswith("CON Lifeline\n1. Alerta\n2. Estoy a salvo")
    assert screens[0].endswith("\n8. Continuar donde se quedo")
    assert screens[1].startswith("CON Aviso ")
    alert = await only_alert(client)
    assert sorted(m.to for m in await relays(client, alert.reference)) == sorted(HOUSTON.duty_phones)


# -- 3. No limit ever stops an alert from reaching the consulate ---------------------------------------


async def test_case_03_beyond_the_daily_limit_the_consulate_is_still_paged(start):
    client = await start("console")
    phone = await registered(client)
    for _ in range(5):
        assert (await phone.send("ALERTA")).startswith("Aviso ")
        assert (await phone.send("CANCELAR")).startswith("Listo")
    reply = await phone.send("ALERTA me llevan otra vez")
    sixth = (await in_store(client, lambda: list(Alert.select().order_by(Alert.id))))[-1]
    assert sixth.status == "open"
    assert reply.startswith(f"Aviso {sixth.reference} enviado al {HOUSTON.short_name}.")
    assert "no avisamos a sus contactos" in reply
    sent = await relays(client, sixth.reference)
    assert sorted(m.to for m in sent) == sorted(HOUSTON.duty_phones)  # contacts are protected, not the consulate
    assert all("Avisos hoy de este numero: 6." in m.body for m in sent)


# -- 4. The truth about delivery -----------------------------------------------------------------------


async def test_case_04_an_opted_out_contact_is_named_not_counted_and_marked_in_the_list(start):
    client = await start("console")
    phone = await registered(client)  # Maria and Jose
    maria = Phone(client, MARIA)
    maria.seen = 1  # her notice
    assert await maria.send("STOP") is None
    reply = await phone.send("ALERTA")
    alert = await only_alert(client)
    assert reply.startswith(
        f"Aviso {alert.reference} enviado al {HOUSTON.short_name} y a 1 de sus contactos. Sin SMS: Maria."
    )
    assert await phone.send("FAMILIA") == "1 Maria +17135550199 ES *\n2 Jose +17135550188 ES\n* = no recibe SMS"
    listing = (await dial(client, ["5", "1"], phone=HOUSTON_PERSON))[-1]
    assert listing.startswith("CON 1 Maria +17135550199 ES *\n2 Jose +17135550188 ES\n* = no recibe SMS")


async def test_case_04_received_counts_delivery_reports_and_says_sent_where_there_is_none(start, fake, clock):
    client = await start("africastalking")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    tag = f"alert:{alert.reference}"
    total = 2 + len(HOUSTON.duty_phones)
    rows = await settled(client, lambda rows: sum(r.tag == tag and r.status == "sent" for r in rows) == total)
    sent = [r for r in rows if r.tag == tag]
    maria_relay = next(r for r in sent if r.to == MARIA)
    others = [r for r in sent if r.to != MARIA]
    await client.post("/africastalking/delivery", data=payloads.at_delivery(maria_relay.provider_message_id, "Failed"))
    await client.post("/africastalking/delivery", data=payloads.at_delivery(others[0].provider_message_id, "Success"))
    # The others never get a report (a provider without delivery reports): after a while the person is told.
    clock.advance(3600)
    await client.app[keys.CONVERSATION].send_due()
    [summary] = [b for b in await to(client, HOUSTON_PERSON) if "recibieron" in b]
    assert summary == (
        f"Lifeline {alert.reference}: 1 de {total} recibieron su aviso. "
        f"A {total - 2} se envio sin confirmar la entrega. No llego a: Maria."
    )


# -- 5. Location as people give it ---------------------------------------------------------------------

LONG_PLACE = "en la carretera 59 saliendo de Victoria, junto a la gasolinera, camioneta blanca"


async def test_case_05_a_long_location_is_accepted_and_a_lone_digit_asked_again_once(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    assert "¿Donde esta?" in await phone.send("ALERTA")
    assert len(LONG_PLACE) > 75
    assert await phone.send(LONG_PLACE) == "Gracias. Avisamos al consulado donde esta."
    alert = await only_alert(client)
    assert alert.location == LONG_PLACE
    located = [m for m in await duty_relays(client, alert.reference) if "esta en" in m.body]
    assert len(located) == len(HOUSTON.duty_phones) and all(LONG_PLACE in m.body for m in located)

    other = Phone(client, "+17135550144")
    await other.send("ALERTA")
    assert (await other.send("1")).startswith("No entendimos el lugar.")
    assert await other.send("77036") == "Gracias. Avisamos al consulado donde esta."
    second = (await in_store(client, lambda: list(Alert.select().order_by(Alert.id))))[-1]
    assert second.location == "77036 Houston, TX"
    assert not [m for m in await relays(client, second.reference) if "esta en 1" in m.body]


# -- 6. Everyone told stays informed -------------------------------------------------------------------


async def test_case_06_family_hear_the_location_the_acknowledgement_and_the_close_in_their_language(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("FAMILIA +1 713 555 0199 Maria EN")
    await phone.send("1")
    await phone.send("ALERTA")
    alert = await only_alert(client)
    relay = (await to(client, MARIA))[-1]
    assert relay.startswith(f"ALERT Lifeline {alert.reference}: {HOUSTON_PERSON} asks for help.")
    assert "?" not in relay
    await phone.send("Victoria TX")
    officer = await officer_of(client)
    await officer.send(f"OK {alert.reference}")
    await officer.send(f"CERRAR {alert.reference}")
    later = (await to(client, MARIA))[-3:]
    assert later == [
        f"Lifeline {alert.reference}: {HOUSTON_PERSON} is in Victoria, TX.",
        f"Lifeline {alert.reference}: the consulate has {HOUSTON_PERSON}'s alert and is on it.",
        f"Lifeline {alert.reference}: the consulate closed {HOUSTON_PERSON}'s case.",
    ]
    assert (await to(client, HOUSTON_PERSON))[-1] == f"Lifeline {alert.reference}: su consulado cerro este aviso."
    other_duty = HOUSTON.duty_phones[1]
    assert (await to(client, other_duty))[-2:] == [
        f"Lifeline {alert.reference}: ya lo atiende otro telefono del consulado.",
        f"Lifeline {alert.reference}: caso cerrado desde otro telefono.",
    ]


async def test_case_06_phones_paged_by_an_escalation_hear_the_acknowledgement(start, clock):
    client = await start("console")
    _, alert = await _raised(client)
    clock.advance(601)  # alert.escalate_after_seconds
    await client.app[keys.CONVERSATION].send_due()
    officer = await officer_of(client)
    await officer.send(f"OK {alert.reference}")
    for backup in (*HOUSTON.backup_phones, *DIRECTORY.central.phones):
        assert (await to(client, backup))[
            -1
        ] == f"Lifeline {alert.reference}: ya lo atiende otro telefono del consulado."


# -- 7. A location that changes the responsible consulate pages that consulate ------------------------


async def test_case_07_a_location_elsewhere_pages_the_consulate_responsible_for_it(start):
    client = await start("console")
    phone = Phone(client, MEXICAN)
    await phone.send("ALERTA me detuvieron")
    alert = await only_alert(client)
    assert alert.consulate == "central:MX"
    await phone.send("60601")
    assert (await only_alert(client)).consulate == "chicago"
    sent = await relays(client, alert.reference)
    paged = [m for m in sent if m.to in CHICAGO.duty_phones]
    assert sorted(m.to for m in paged) == sorted(CHICAGO.duty_phones)
    assert all(m.body.startswith(f"ALERTA {alert.reference}: {MEXICAN} pide ayuda en 60601 Chicago, IL") for m in paged)
    assert all('"me detuvieron"' in m.body for m in paged)  # the whole alert
    central = [m for m in sent if m.to in DIRECTORY.central.phones and "esta en" in m.body]
    assert sorted(m.to for m in central) == sorted(DIRECTORY.central.phones)
    assert all(f"Atiende el caso el {CHICAGO.short_name}." in m.body for m in central)
    chicago = Phone(client, CHICAGO.duty_phones[0])
    chicago.seen = 1
    assert (await chicago.send(f"OK {alert.reference}")).startswith(f"{alert.reference} confirmado")


# -- 8. A repeat press is never silent -----------------------------------------------------------------


async def test_case_08_a_repeat_press_reaches_the_duty_phones_and_a_new_contact_gets_the_alert(start, clock):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    assert (await phone.send("ALERTA sigo aqui")).startswith(f"Aviso {alert.reference}: enviado otra vez al")
    assert (await phone.send("ALERTA ahora en la camioneta")).startswith(f"Aviso {alert.reference}")

    async def updates() -> list:
        return [m for m in await relays(client, alert.reference) if "sigue pidiendo ayuda" in m.body]

    duty = [m for m in await updates() if m.to in HOUSTON.duty_phones]
    assert Counter(m.to for m in duty) == Counter(list(HOUSTON.duty_phones) * 2)  # every press
    assert [m.body.endswith('"sigo aqui"') for m in duty] == [True, True, False, False]
    # Contacts had the relay moments ago: at most one update per alert.repeat_seconds (300).
    assert not [m for m in await updates() if m.to in (MARIA, JOSE)]
    clock.advance(301)
    await phone.send("ALERTA")
    await phone.send("ALERTA")
    family = [m for m in await updates() if m.to in (MARIA, JOSE)]
    assert Counter(m.to for m in family) == Counter([MARIA, JOSE])
    assert all(m.body.endswith('"ahora en la camioneta"') for m in family)  # the latest they missed
    assert Counter(m.to for m in await updates() if m.to in HOUSTON.duty_phones)[HOUSTON.duty_phones[0]] == 4
    # A contact added while the alert is open receives it at once.
    await phone.send("FAMILIA +1 713 555 0177 Ana")
    ana = await to(client, "+17135550177")
    assert len(ana) == 2 and ana[1].startswith(f"ALERTA Lifeline {alert.reference}: {HOUSTON_PERSON} pide ayuda")


# -- 9. The person can answer the consulate ------------------------------------------------------------


async def test_case_09_the_person_answers_the_officer_who_asked(start):
    client = await start("console")
    phone = await registered(client)
    await phone.send("UBICACION 77002")
    await phone.send("ALERTA")
    alert = await only_alert(client)
    officer = await officer_of(client)
    assert (await officer.send(f"R {alert.reference} ¿sigue ahí? Responda SÍ o NO")).startswith(alert.reference)
    question, answered = await phone.send_all("Sí")
    assert question == f"Lifeline {alert.reference}, su consulado: ¿sigue ahí? Responda SÍ o NO"
    assert answered == f"Lifeline {alert.reference}: enviamos su respuesta a su consulado."
    answer = (await to(client, officer.number))[-1]
    assert answer.startswith(f'Lifeline {alert.reference}, responde {HOUSTON_PERSON}: "Sí".')
    assert f"R {alert.reference}" in answer
    assert not [b for b in await to(client, HOUSTON.duty_phones[1]) if "responde" in b]  # only who asked
    notes = await in_store(client, lambda: [n.text for n in AlertNote.select()])
    assert notes == ["Sí"]


async def test_case_09_a_yes_the_officer_asked_for_reaches_them(start):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    await phone.send("77002")
    officer = await officer_of(client)
    await officer.send(f"R {alert.reference} Are you safe? Reply YES or NO")
    assert (await phone.send_all("YES"))[-1] == f"Lifeline {alert.reference}: enviamos su respuesta a su consulado."
    assert (await to(client, officer.number))[-1].startswith(
        f'Lifeline {alert.reference}, responde {HOUSTON_PERSON}: "YES".'
    )


async def test_case_09_the_window_closes(start, config_dir, clock):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    await phone.send("77002")
    officer = await officer_of(client)
    await officer.send(f"R {alert.reference} ¿Sigue ahi?")
    clock.advance(31 * 60)  # alert.reply_window_minutes is 30
    assert (await phone.send_all("Sí"))[-1].startswith("Para pedir ayuda ahora responda 1.")


# -- 10. Bounded relays --------------------------------------------------------------------------------


async def test_case_10_a_very_long_alert_reaches_each_duty_phone_in_at_most_two_segments(start):
    client = await start("console")
    words = "me detuvieron en la carretera cerca de Victoria y no me dejan llamar a nadie "
    long_note = (words * 30)[:1700].strip()
    await Phone(client, HOUSTON_PERSON).send(f"ALERTA {long_note}")
    alert = await only_alert(client)
    assert alert.note == long_note  # the officials keep all of it
    duty = await duty_relays(client, alert.reference)
    assert len(duty) == len(HOUSTON.duty_phones)
    for message in duty:
        assert encoding.measure(message.body).segments <= 2 and message.segments <= 2
        assert '"me detuvieron en la carretera' in message.body and '..."' in message.body
        assert message.body.endswith(f"Responda OK {alert.reference}")


# -- 11. Duty phones are guided ------------------------------------------------------------------------


async def test_case_11_duty_phones_get_the_officers_help_and_closed_cases_say_so(start):
    client = await start("console")
    phone, alert = await _raised(client)
    officer = await officer_of(client)
    for text in ("OK", "hola"):
        answer = await officer.send(text)
        assert answer.startswith("Comandos: OK <ref>"), answer
        assert f"Abiertos: {alert.reference}." in answer
        assert "Para pedir ayuda" not in answer and "CONSULADO" not in answer
    assert (await officer.send(f"Ok, {alert.reference.lower()}")).startswith(f"{alert.reference} confirmado")
    assert await officer.send(f"CERRAR {alert.reference}") == f"{alert.reference}: caso cerrado."
    seen = len(await to(client, HOUSTON_PERSON))
    closed = f"{alert.reference} ya esta cerrado. Para reabrirlo envie REABRIR {alert.reference}"
    assert await officer.send(f"OK {alert.reference}") == closed
    assert await officer.send(f"R {alert.reference} vamos para alla") == closed
    assert len(await to(client, HOUSTON_PERSON)) == seen  # the person hears nothing more
    assert await officer.send(f"REABRIR {alert.reference}") == f"{alert.reference}: caso reabierto."
    assert (await only_alert(client)).status == "open"


async def _raised(client):
    phone = await registered(client)
    await phone.send("ALERTA")
    return phone, await only_alert(client)
