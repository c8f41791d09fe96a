"""Consent and trusted contacts, by USSD and by SMS, through the real webhooks."""

from __future__ import annotations

import pytest

from handlers.lifeline.contacts import CONSENT_VERSION
from store.models import Consent, Contact, OutboxMessage, Person
from tests.conftest import in_store
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import choose_english, dial

MEXICAN = "+525555500142"


async def outbox_to(client, number: str) -> list[str]:
    rows = await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
    return [r.body for r in rows if r.to == number]


async def test_consent_is_recorded_with_its_version_and_time_before_anything_is_stored(start, clock):
    client = await start("console")
    assert (await dial(client, ["5", "2"]))[-1].startswith("END No guardamos nada.")
    assert await in_store(client, Consent.select().count) == 0
    assert await in_store(client, Person.select().count) == 0  # nothing, not even the number that dialled
    await dial(client, ["5", "1", "00"])
    [consent] = await in_store(client, lambda: list(Consent.select()))
    assert consent.text_version == CONSENT_VERSION
    assert abs(consent.agreed_at - clock()) < 5
    # Agreed once: My contacts opens directly from now on.
    assert (await dial(client, ["5"]))[-1].startswith("CON Mis contactos")


async def test_adding_a_contact_by_ussd_tells_them_once(start):
    client = await start("console")
    screens = await dial(client, ["5", "1", "1", "(713) 555-0199", "1", "Maria Lopez", "1"])  # 1: United States
    assert screens[-1] == "END Listo: Maria Lopez recibira el aviso si usted pide ayuda."
    [notice] = await outbox_to(client, "+17135550199")
    assert notice == (
        "Lifeline: +15555550142 le puso como contacto de confianza. Si pide ayuda le avisaremos por aqui. "
        "Para no recibir mensajes responda STOP."
    )
    again = await dial(client, ["5", "2", "17135550199", "Maria", "1"])  # with a contact, 2 is "add"
    assert again[-1] == "END Maria ya es su contacto."
    assert len(await outbox_to(client, "+17135550199")) == 1  # told once


async def test_the_notice_is_in_the_contacts_language(start):
    phone = Phone(await start("console"))
    await phone.send("FAMILY +1 713 555 0199 Anna")  # English word: the person is answered in English
    assert (await phone.send("1")).startswith("Done: Anna will be told")
    # No language given: the contact is written to in the person's own.
    [notice] = await outbox_to(phone.client, "+17135550199")
    assert notice.startswith("Lifeline: +15555550142 named you as a trusted contact.")
    # A last word naming a language is the contact's, and is not part of the name.
    assert (await phone.send("FAMILY +1 713 555 0198 Jose Luis espanol")).startswith("Done: Jose Luis will be told")
    [notice] = await outbox_to(phone.client, "+17135550198")
    assert notice.startswith("Lifeline: +15555550142 le puso como contacto")
    assert await phone.send("FAMILY") == "1 Anna +17135550199 EN\n2 Jose Luis +17135550198 ES"


async def test_the_contacts_language_is_asked_by_ussd_and_used_for_the_relay(start, fake):
    client = await start("console")
    screens = await dial(client, ["5", "1", "1", "17135550199", "Anna", "2"])
    assert screens[-2] == "CON Idioma del contacto:\n1. Español\n2. English\n0 Atras"
    assert screens[-1].startswith("END Listo: Anna recibira el aviso")
    [notice] = await outbox_to(client, "+17135550199")
    assert notice.startswith("Lifeline: +15555550142 named you as a trusted contact.")
    await dial(client, ["1"])  # ALERT: Anna's relay is in English, the person's screens in Spanish
    relays = await outbox_to(client, "+17135550199")
    assert relays[-1].startswith("ALERT Lifeline ")


async def test_list_and_remove_by_ussd(start):
    client = await start("console")
    await dial(client, ["5", "1", "1", "17135550199", "Maria", "1"])
    await dial(client, ["5", "2", "17135550188", "Jose", "2"])
    listing = (await dial(client, ["5", "1", "00"]))[-2]
    assert listing == "CON 1 Maria +17135550199 ES\n2 Jose +17135550188 EN\n0 Atras"
    assert (await dial(client, ["5", "3", "1"]))[-1] == "END Listo: Maria ya no es su contacto."
    assert (await dial(client, ["5", "3", "7"]))[-1].startswith("END No hay contacto con ese numero.")
    assert (await dial(client, ["5", "1", "00"]))[-2] == "CON 1 Jose +17135550188 EN\n0 Atras"


async def test_at_most_five_contacts(start):
    phone = Phone(await start("console"))
    await phone.send("FAMILIA +1 713 555 0190 Uno")
    await phone.send("1")  # consent
    for n in range(1, 5):
        assert (await phone.send(f"FAMILIA +1 713 555 019{n} Contacto{n}")).startswith("Listo")
    assert await phone.send("FAMILIA +1 713 555 0196 Seis") == "Ya tiene 5 contactos. Quite uno para agregar otro."
    assert await in_store(phone.client, Contact.select().count) == 5
    # With five, USSD offers only list and remove.
    menu = (await dial(phone.client, ["5"]))[-1]
    assert menu == (
        "CON Mis contactos\n1. Ver contactos\n2. Quitar contacto\n3. Mi ubicacion\n4. Mi PIN de seguridad\n"
        "5. Mi nombre\n6. Mi pais\n0 Atras"
    )


SMS_FORMS = [
    ("international", "+1 713 555 0199 Maria", "+17135550199"),
    ("national with the 1 before the area code", "1-713-555-0199 Maria", "+17135550199"),
    ("00 prefix", "001 713 555 0199 Maria", "+17135550199"),
]


@pytest.mark.parametrize("label,entry,saved", SMS_FORMS, ids=[f[0] for f in SMS_FORMS])
async def test_familia_by_sms_reads_common_number_forms(start, label, entry, saved):
    phone = Phone(await start("console"))
    await phone.send(f"FAMILIA {entry}")
    assert (await phone.send("1")).startswith("Listo: Maria")
    [contact] = await in_store(phone.client, lambda: list(Contact.select()))
    assert (contact.phone, contact.name) == (saved, "Maria")


@pytest.mark.parametrize(
    "typed", ["+52 1 55 5550 0199 Jose", "044 55 5550 0199 Jose", "01 55 5550 0199 Jose", "55 5550 0199 Jose"]
)
async def test_mexican_numbers_in_old_and_new_forms(start, typed):
    phone = Phone(await start("console"), MEXICAN)  # a person with a Mexican number types local forms
    await phone.send(f"FAMILIA {typed}")
    assert (await phone.send("1")).startswith("Listo: Jose")
    [contact] = await in_store(phone.client, lambda: list(Contact.select()))
    assert contact.phone == "+525555500199"


async def test_familia_borrar_and_bad_entries_by_sms(start):
    phone = Phone(await start("console"))
    await phone.send("FAMILIA +1 713 555 0199 Maria")
    await phone.send("1")
    assert await phone.send("FAMILIA 12 Nadie") == "Numero no valido. Ejemplo: FAMILIA +1 713 555 0142 Maria"
    assert await phone.send("FAMILIA +1 555 555 0142 Yo") == "Numero no valido. Ejemplo: FAMILIA +1 713 555 0142 Maria"
    assert await phone.send("FAMILIA BORRAR 1") == "Listo: Maria ya no es su contacto."
    assert (await phone.send("FAMILIA")).startswith("No tiene contactos.")


# "+" cannot be typed on USSD: the number of family abroad comes with 00 or 011 for it, with the country's code
# alone, or in Mexico's old domestic forms. The digits name the country: no question follows.
TYPED_ABROAD = [
    ("Mexico's code, no prefix", "525555500148", "+525555500148"),
    ("011 and Mexico's old mobile 1", "0115215555500148", "+525555500148"),
    ("Mexico's old mobile prefix 044", "0445555500144", "+525555500144"),
    ("011 with spaces", "011 52 1 55 5550 0148", "+525555500148"),
]


@pytest.mark.parametrize("label,typed,saved", TYPED_ABROAD, ids=[t[0] for t in TYPED_ABROAD])
async def test_ussd_reads_a_number_abroad_typed_without_plus(start, label, typed, saved):
    client = await start("console")
    screens = await dial(client, ["5", "1", "1", typed, "Jose", "1"])
    assert screens[4] == "CON Nombre del contacto:\n0 Atras"
    assert screens[-1].startswith("END Listo: Jose ")
    [contact] = await in_store(client, lambda: list(Contact.select()))
    assert contact.phone == saved
    [notice] = await outbox_to(client, saved)
    assert notice.startswith("Lifeline: +15555550142 le puso como contacto")


async def test_ussd_asks_the_country_of_a_number_that_may_be_us_or_mexican(start):
    client = await start("console")
    screens = await dial(client, ["5", "1", "1", "713 555 0199", "2", "Jose", "1"])
    assert screens[4] == (
        "CON ¿De que pais es el numero?\n1 Estados Unidos +17135550199\n2 Mexico +527135550199\n3 Otro pais\n0 Atras"
    )
    assert screens[5] == "CON Nombre del contacto:\n0 Atras"
    [contact] = await in_store(client, lambda: list(Contact.select()))
    assert contact.phone == "+527135550199"  # Mexico's 713, as picked: never the Houston number
    assert await outbox_to(client, "+17135550199") == []
    assert len(await outbox_to(client, "+527135550199")) == 1


async def test_ussd_asks_before_taking_digits_without_a_country_code_as_another_countrys(start):
    client = await start("console")
    # Eight digits are a Guatemalan number, and maybe another Central American country's: asked, not guessed.
    screens = await dial(client, ["5", "1", "1", "5555 0148"])
    assert screens[-1] == "CON ¿De que pais es el numero?\n1 Guatemala +50255550148\n2 Otro pais\n0 Atras"
    # Another country: the number again, with its code; a choice not shown asks again.
    screens = await dial(client, ["5", "1", "5555 0148", "7", "2", "0052 55 5550 0148", "Ana", "1"])
    assert screens[4] == screens[3] == "CON ¿De que pais es el numero?\n1 Guatemala +50255550148\n2 Otro pais\n0 Atras"
    assert screens[5] == "CON Escriba 00 o 011, el codigo del pais y el numero (ejemplo: 0052 55 5550 0148):\n0 Atras"
    assert screens[6] == "CON Nombre del contacto:\n0 Atras"
    [contact] = await in_store(client, lambda: list(Contact.select()))
    assert contact.phone == "+525555500148"


async def test_ussd_explains_00_and_011_after_a_number_no_country_has(start):
    client = await start("console")
    await choose_english(client)
    screens = await dial(client, ["5", "1", "1", "555 0142"])  # no area code: no country's number
    assert screens[-1] == (
        "CON Not a valid number. Type it with the area code; another country's with 00 or 011 and the country code:"
        "\n0 Back"
    )


async def test_familia_by_sms_reads_numbers_abroad_typed_without_plus(start):
    phone = Phone(await start("console"))
    await phone.send("FAMILIA 0052 55 5550 0148 Maria")
    assert (await phone.send("1")).startswith("Listo: Maria")  # after consent
    assert (await phone.send("FAMILIA 011 52 1 55 5550 0147 Jose")).startswith("Listo: Jose")
    assert (await phone.send("FAMILIA 044 55 5550 0144 Ana")).startswith("Listo: Ana")
    assert (await phone.send("FAMILIA 52 55 5550 0146 Rosa")).startswith("Listo: Rosa")
    assert await phone.send("FAMILIA") == (
        "1 Maria +525555500148 ES\n2 Jose +525555500147 ES\n3 Ana +525555500144 ES\n4 Rosa +525555500146 ES"
    )


async def test_familia_by_sms_asks_the_country_of_a_number_that_may_be_us_or_mexican(start):
    phone = Phone(await start("console"))
    await phone.send("FAMILIA +1 713 555 0190 Uno")
    await phone.send("1")  # consent
    question = await phone.send("FAMILIA 713-555-0199 Maria ingles")
    assert question == "¿De que pais es el numero?\n1 Estados Unidos +17135550199\n2 Mexico +527135550199\n3 Otro pais"
    assert (await phone.send("2")).startswith("Listo: Maria")
    assert await phone.send("FAMILIA") == "1 Uno +17135550190 ES\n2 Maria +527135550199 EN"
    [notice] = await outbox_to(phone.client, "+527135550199")
    assert notice.startswith("Lifeline: +15555550142 named you as a trusted contact.")  # the language given
    # Another country: how to write it, with 00 or 011.
    await phone.send("FAMILIA 713 555 0188 Jose")
    assert await phone.send("3") == (
        "Envie FAMILIA, el numero con 00 o 011 y el codigo del pais, y el nombre. "
        "Ejemplo: FAMILIA 0052 55 5550 0148 Maria"
    )
    assert await in_store(phone.client, Contact.select().count) == 2
