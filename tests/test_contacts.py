"""Consent and trusted contacts, by USSD and by SMS, through the real webhooks."""

from __future__ import annotations

import pytest

from handlers.lifeline.contacts import CONSENT_VERSION
from store.models import Consent, Contact, OutboxMessage
from tests.conftest import in_store
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial

MEXICAN = "+525555500142"


async def outbox_to(client, number: str) -> list[str]:
    rows = await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
    return [r.body for r in rows if r.to == number]


async def test_consent_is_recorded_with_its_version_and_time_before_anything_is_stored(start, clock):
    client = await start("console")
    assert (await dial(client, ["5", "2"]))[-1].startswith("END No guardamos nada.")
    assert await in_store(client, Consent.select().count) == 0
    await dial(client, ["5", "1", "00"])
    [consent] = await in_store(client, lambda: list(Consent.select()))
    assert consent.text_version == CONSENT_VERSION
    assert abs(consent.agreed_at - clock()) < 5
    # Agreed once: My contacts opens directly from now on.
    assert (await dial(client, ["5"]))[-1].startswith("CON Mis contactos")


async def test_adding_a_contact_by_ussd_tells_them_once(start):
    client = await start("console")
    screens = await dial(client, ["5", "1", "1", "(713) 555-0199", "Maria Lopez", "1"])
    assert screens[-1] == "END Listo: Maria Lopez recibira el aviso si usted pide ayuda."
    [notice] = await outbox_to(client, "+17135550199")
    assert notice == (
        "Lifeline: +15555550142 le puso como contacto de confianza. Si pide ayuda le avisaremos por aqui. "
        "Para no recibir mensajes responda STOP."
    )
    again = await dial(client, ["5", "2", "7135550199", "Maria", "1"])  # with a contact, 2 is "add"
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
    screens = await dial(client, ["5", "1", "1", "7135550199", "Anna", "2"])
    assert screens[-2] == "CON Idioma del contacto:\n1. Español\n2. English\n0 Atras"
    assert screens[-1].startswith("END Listo: Anna recibira el aviso")
    [notice] = await outbox_to(client, "+17135550199")
    assert notice.startswith("Lifeline: +15555550142 named you as a trusted contact.")
    await dial(client, ["1"])  # ALERT: Anna's relay is in English, the person's screens in Spanish
    relays = await outbox_to(client, "+17135550199")
    assert relays[-1].startswith("ALERT Lifeline ")


async def test_list_and_remove_by_ussd(start):
    client = await start("console")
    await dial(client, ["5", "1", "1", "7135550199", "Maria", "1"])
    await dial(client, ["5", "2", "7135550188", "Jose", "2"])
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
    ("national with dashes", "713-555-0199 Maria", "+17135550199"),
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
