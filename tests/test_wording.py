"""Issue 13, point 9: the words a frightened person reads. Each test goes through the real webhooks and
reads what a phone would show (the USSD screen) or receive (the SMS in the outbox, or at the fake carrier)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway import keys
from tests.test_alerts import DIRECTORY, HOUSTON, HOUSTON_PERSON, JOSE, MARIA, messages, only_alert, registered, relays
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled

HOUSTON_TIME = ZoneInfo("America/Chicago")
# Wednesday 25 November 2026, 12:54 in Houston (CST, UTC-6).
ALERT_TIME = datetime(2026, 11, 25, 12, 54, 10, tzinfo=HOUSTON_TIME).timestamp()
ANNA = "+17135550177"  # a contact who reads English
# A date as a relay could write one: 25/11, 11/25, Nov 25.
A_DATE = re.compile(r"\b\d{1,2}/\d{1,2}\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}\b")


@pytest.fixture
def at_alert_time(clock):
    clock.advance(ALERT_TIME - clock())
    return clock


async def body_to(client, number: str, reference: str) -> str:
    [relay] = [m.body for m in await relays(client, reference) if m.to == number]
    return relay


# -- Gender-neutral Spanish ------------------------------------------------------------------------------


async def test_adding_a_contact_does_not_give_them_a_gender(start):
    phone = Phone(await start("console"))
    await phone.send("FAMILIA +1 713 555 0199 Maria Lopez")
    assert await phone.send("1") == "Listo: Maria Lopez recibira el aviso si usted pide ayuda."
    screens = await dial(phone.client, ["5", "2", "17135550188", "Jose", "1"])
    assert screens[-1] == "END Listo: Jose recibira el aviso si usted pide ayuda."


async def test_the_duress_page_is_neutral_and_plain(start):
    client = await start("console")
    phone = await registered(client)
    await phone.send("PIN")
    await phone.send("1234")
    await phone.send("9876")
    await phone.send("ALERTA")
    alert = await only_alert(client)
    await settled(client, lambda rows: all(r.status == "sent" for r in rows))
    await phone.send("CANCELAR")
    await phone.send("9876")  # the duress PIN
    pages = [m.body for m in await relays(client, alert.reference) if m.tag.endswith(":later")]
    assert pages == [
        f"ALERTA Lifeline {alert.reference}: {HOUSTON_PERSON} cancelo con su PIN de emergencia: podria estar bajo "
        "presion. Su telefono lo ve cancelado; sigue abierto."
    ] * len(HOUSTON.duty_phones)


# -- Counts without "(s)", and a hint when nobody but the consulate was told ---------------------------------


async def test_an_alert_told_to_nobody_else_says_how_to_add_family(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    reply = await phone.send("ALERTA")
    alert = await only_alert(client)
    assert reply == (
        f"Aviso {alert.reference} enviado al Consulado en Houston. Luego, para avisar a su familia, envie FAMILIA. "
        "¿Donde esta? Codigo postal o lugar:"
    )
    # What FAMILIA answers shows how to add someone.
    assert await phone.send("FAMILIA") == "No tiene contactos. Agregue uno: FAMILIA +1 713 555 0142 Maria"


async def test_a_located_alert_told_to_nobody_else_still_says_how_to_cancel_and_add_family(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("UBICACION 77036")
    await phone.send("1")  # consent
    reply = await phone.send("ALERTA")
    alert = await only_alert(client)
    assert reply == (
        f"Aviso {alert.reference} enviado al Consulado en Houston. Si ya esta bien, envie CANCELAR. "
        "Para avisar a su familia, envie por SMS: FAMILIA +1 713 555 0142 Maria"
    )
    [row] = [m for m in await messages(client) if m.to == HOUSTON_PERSON and m.body == reply]
    assert (row.encoding, row.segments) == ("gsm7", 1)


async def test_a_drill_with_no_contacts_says_nobody_would_be_told(start):
    client = await start("console")
    reply = await Phone(client, HOUSTON_PERSON).send("PRUEBA")
    practice = await only_alert(client)
    assert reply == (
        f"PRUEBA {practice.reference}: un aviso real iria solo al Consulado en Houston. Para avisar tambien a su "
        "familia, envie por SMS: FAMILIA +1 713 555 0142 Maria"
    )


async def test_counts_read_as_words_in_both_languages(start):
    client = await start("console")
    phone = await registered(client)
    spanish = await phone.send("ALERTA")
    alert = await only_alert(client)
    assert spanish.startswith(f"Aviso {alert.reference} enviado al Consulado en Houston y a 2 de sus contactos. ")
    english = Phone(client, "+17135550144")
    await english.send("FAMILY +1 713 555 0166 Ana")
    await english.send("1")
    reply = await english.send("ALERT")
    assert re.fullmatch(
        r"Message [A-Z0-9]{4} sent to the Consulate in Houston and 1 of your contacts\. Where are you\? .+", reply
    )
    assert not any("(s)" in m.body for m in await messages(client))


# -- One date and time per relay, in the reader's conventions; nothing unknown shown -----------------------


async def test_a_relay_with_nothing_known_reads_naturally(start, at_alert_time):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("FAMILIA +1 713 555 0199 Maria")
    await phone.send("1")
    await phone.send("ALERTA")
    alert = await only_alert(client)
    assert await body_to(client, MARIA, alert.reference) == (
        f"ALERTA Lifeline {alert.reference}: {HOUSTON_PERSON} pide ayuda. Aviso del 25/11 12:54 CST. Llamele."
    )


async def test_a_relay_has_one_date_and_time_in_its_readers_conventions(start, at_alert_time):
    client = await start("console")
    phone = await registered(client)  # Maria and Jose read Spanish
    await phone.send("FAMILY +1 713 555 0177 Anna EN")  # Anna reads English
    await phone.send("UBICACION 77036")
    await phone.send("ALERTA")
    alert = await only_alert(client)
    ref = alert.reference
    for spanish in (MARIA, JOSE):
        assert await body_to(client, spanish, ref) == (
            f"ALERTA Lifeline {ref}: {HOUSTON_PERSON} pide ayuda (vive en 77036). Aviso del 25/11 12:54 CST. Llamele."
        )
    assert await body_to(client, ANNA, ref) == (
        f"ALERT Lifeline {ref}: {HOUSTON_PERSON} asks for help (lives in 77036). Sent Nov 25, 12:54 PM CST. Call them."
    )
    duty = await body_to(client, HOUSTON.duty_phones[0], ref)
    assert duty == (
        f"ALERTA {ref}: {HOUSTON_PERSON} pide ayuda (vive en 77036). Aviso del 25/11 12:54 CST. Responda OK {ref}"
    )
    assert all(len(A_DATE.findall(m.body)) == 1 for m in await relays(client, ref))


async def test_a_contact_added_during_an_alert_gets_it_in_their_conventions(start, at_alert_time):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("ALERTA me detuvieron")
    alert = await only_alert(client)
    await phone.send("FAMILY +1 713 555 0177 Anna EN")
    await phone.send("1")  # consent, then Anna is added
    [relay] = [m.body for m in await messages(client) if m.to == ANNA and m.body.startswith("ALERT ")]
    assert relay == (
        f'ALERT Lifeline {alert.reference}: {HOUSTON_PERSON} asks for help. Sent Nov 25, 12:54 PM CST. "me detuvieron" '
        "Call them."
    )


async def test_an_unanswered_alert_pages_with_its_one_date_and_time(start, at_alert_time):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    alert = await only_alert(client)
    at_alert_time.advance(601)  # alert.escalate_after_seconds is 600
    await client.app[keys.CONVERSATION].send_due()
    pages = [m for m in await relays(client, alert.reference) if "SIN RESPUESTA" in m.body]
    assert sorted(m.to for m in pages) == sorted({*HOUSTON.backup_phones, *DIRECTORY.central.phones})
    assert {m.body for m in pages} == {
        f"ALERTA Lifeline {alert.reference} SIN RESPUESTA: {HOUSTON_PERSON} pide ayuda desde el 25/11 12:54 CST. "
        f"Responda OK {alert.reference}"
    }


# -- Place names in the reader's language -----------------------------------------------------------------


async def test_english_readers_get_the_consulates_english_name(start):
    client = await start("console")
    reply = await Phone(client, "+12135550142").send("ALERT")  # a Los Angeles number
    alert = await only_alert(client)
    assert reply.startswith(f"Message {alert.reference} sent to the Consulate in Los Angeles. Later, to tell your")
    assert "Consulado" not in reply
    screens = await dial(client, ["3", "90057"], phone="+12135550143")
    assert screens[-1].startswith("CON 1/5 Consulado en Los Angeles. 2401 W 6th St")  # Spanish readers: as before


async def test_a_move_to_another_consulate_is_told_in_each_readers_language(start):
    client = await start("console")
    mexican = Phone(client, "+525555500142")  # no US area code: the central first
    await mexican.send("FAMILIA +1 713 555 0199 Maria")
    await mexican.send("1")
    await mexican.send("FAMILIA +1 713 555 0177 Anna EN")
    await mexican.send("ALERTA")
    alert = await only_alert(client)
    await mexican.send("60601")  # Chicago: its consulate takes the alert
    located = {m.to: m.body for m in await relays(client, alert.reference) if m.tag.endswith(":later")}
    assert located[MARIA] == (
        f"Lifeline {alert.reference}: +525555500142 esta en 60601 Chicago, IL. Atiende el caso el Consulado en Chicago."
    )
    assert located[ANNA] == (
        f"Lifeline {alert.reference}: +525555500142 is in 60601 Chicago, IL. The Consulate in Chicago is handling it."
    )


# -- The contact notice names the person -----------------------------------------------------------------


async def test_the_contact_notice_gives_the_persons_name(start, fake):
    client = await start("africastalking")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("NOMBRE Maria Lopez")
    await phone.send("1")  # consent
    await phone.send("FAMILIA +1 713 555 0188 Jose")
    notice = (
        f"Lifeline: Maria Lopez ({HOUSTON_PERSON}) le puso como contacto de confianza. Si pide ayuda le avisaremos "
        "por aqui. Para no recibir mensajes responda STOP."
    )
    await settled(client, lambda rows: any(r.to == JOSE and r.status == "sent" for r in rows))
    assert [m.body for m in fake.accepted if m.to == JOSE] == [notice]


async def test_an_alert_raised_for_someone_gives_their_name(start, at_alert_time):
    client = await start("console")
    phone = await registered(client)  # Maria and Jose
    await phone.send("NOMBRE Rosa Diaz")
    maria = Phone(client, MARIA)
    maria.seen = 1  # her notice
    reply = await maria.send("ALERTA POR +1 713 555 0142")
    alert = await only_alert(client)
    rosa = f"Rosa Diaz ({HOUSTON_PERSON})"
    assert reply == f"Aviso {alert.reference} enviado al Consulado en Houston y a los otros contactos de {rosa} (1)."
    assert await body_to(client, JOSE, alert.reference) == (
        f"ALERTA {alert.reference} por {MARIA}: {rosa} pide ayuda. Aviso del 25/11 12:54 CST"
    )


# -- Errors that say what to do; the list on the screen that asks for a number ------------------------------


async def test_a_too_long_answer_is_told_the_limit(start):
    client = await start("console")
    screens = await dial(client, ["5", "1", "1", "17135550199", "W" * 41])
    assert screens[-1] == "CON Escriba hasta 40 caracteres.\nNombre del contacto:\n0 Atras"
    screens = await dial(client, ["5", "1", "1", "17135550199", ""])  # an empty answer reads the same
    assert screens[-1] == "CON Escriba hasta 40 caracteres.\nNombre del contacto:\n0 Atras"


async def test_the_remove_screen_shows_the_numbered_contacts(start):
    client = await start("console")
    await registered(client)  # Maria, then Jose
    screens = await dial(client, ["5", "3"], phone=HOUSTON_PERSON)
    assert screens[-1] == "CON 1 Maria\n2 Jose\nNumero del contacto a quitar:\n0 Atras"
    screens = await dial(client, ["5", "3", "2"], phone=HOUSTON_PERSON)
    assert screens[-1] == "END Listo: Jose ya no es su contacto."


async def test_five_long_names_fit_the_remove_screen_even_with_an_error(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("FAMILIA +1 713 555 0160 Maria Guadalupe Hernandez Lopez")
    await phone.send("1")
    for n, name in enumerate(["Jose Antonio Rodriguez", "Ana Maria Castillo", "Ana Maria Castillo Ruiz", "Rosa"], 1):
        await phone.send(f"FAMILIA +1 713 555 016{n} {name}")
    screens = await dial(client, ["5", "2", "x"], phone=HOUSTON_PERSON)  # five: "add" is gone, 2 is "remove"
    listing = (
        "1 Maria Guadalupe\n2 Jose Antonio Rod\n3 Ana Maria Ca (0162)\n4 Ana Maria Ca (0163)\n5 Rosa\n"
        "Numero del contacto a quitar:"
    )
    assert screens[-2] == f"CON {listing}\n0 Atras"
    assert screens[-1] == f"CON Escriba solo numeros.\n{listing}\n0 Atras"
    assert max(len(s) for s in screens) <= 182


# -- The consent menu is one SMS -------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["FAMILIA", "FAMILY"])
async def test_the_consent_menu_by_sms_is_one_segment(start, word):
    client = await start("console")
    reply = await Phone(client, HOUSTON_PERSON).send(f"{word} +1 713 555 0199 Maria")
    assert reply.startswith(("Lifeline guarda", "We keep")) and reply.endswith(("No acepto", "I disagree"))
    rows = [m for m in await messages(client) if m.body == reply]
    assert [(r.encoding, r.segments) for r in rows] == [("gsm7", 1)]
