"""Find a consulate: what a person types resolves offline to the responsible consulate first, then the
nearest; by SMS the best one fits one segment with MAS for more, on USSD one per screen."""

from __future__ import annotations

import pytest

from gateway.encoding import measure
from gateway.texts import Texts
from handlers.consular.appointments import by_distance
from handlers.consular.finder import card_of
from handlers.reference.consulates import Directory
from handlers.reference.places import find_place
from handlers.reference.vocabulary import Vocabulary
from store.models import OutboxMessage
from tests.conftest import ROOT, in_store
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial

DIRECTORY = Directory.load(ROOT / "config" / "consulates.yaml")
HOUSTON_PERSON = "+17135550142"
# Weekday names as the shipped language files write them.
_TEXTS = Texts.load(ROOT / "templates", "es")
VOCABULARY = Vocabulary.build(_TEXTS.raw, _TEXTS.languages)


def found(text: str, nationality: str = "MX") -> list[str]:
    """Consulate ids in the order a person is shown them."""
    network = DIRECTORY.network_for(nationality)
    place = find_place(text)
    if place is None:
        return []
    responsible = network.responsible(zip_code=place.zip_code, state=place.state)
    return [c.id for c in by_distance(network, responsible, (place.latitude, place.longitude))]


LOOKUPS = [
    ("ZIP", "77002", "houston", None),
    ("ZIP+4", "77002-1234", "houston", None),
    ("ZIP in the Valley", "78520", "brownsville", "mcallen"),  # Brownsville, then its neighbour
    ("Alaska: no consulate of its own, Seattle's jurisdiction", "99501", "seattle", None),
    ("Puerto Rico", "00901", "san-juan", None),
    ("a state with no consulate: Vermont goes to Boston", "05401", "boston", None),
    ("city", "Houston", "houston", None),
    ("city and state", "san jose, ca", "san-jose", None),
    ("accents", "San José CA", "san-jose", None),
    ("typo", "Los Angelos", "los-angeles", None),
    ("typo in a longer name", "Brownsvile TX", "brownsville", None),
    ("state by name", "Texas", "houston", None),
    ("state in Spanish", "Carolina del Norte", "raleigh", None),
]


@pytest.mark.parametrize(("label", "text", "first", "second"), LOOKUPS, ids=[row[0] for row in LOOKUPS])
def test_lookups_put_the_responsible_consulate_first(label, text, first, second):
    ids = found(text)
    assert ids[0] == first
    if second:
        assert ids[1] == second
    assert len(ids) == len(set(ids)) == len(DIRECTORY.network_for("MX").consulates)


def test_jurisdiction_beats_distance():
    # Texarkana, TX is nearer Little Rock's consulate than Dallas's, but Texas ZIP 755 is Dallas's.
    ids = found("75501")
    assert ids[0] == "dallas"


@pytest.mark.parametrize("text", ["", "   ", "asdfgh", "12", "🙂🙂", "x" * 100_000, "DROP TABLE people"])
def test_garbage_finds_nothing(text):
    assert found(text) == []


def test_guatemalans_get_their_own_network():
    assert found("77002", "GT")[0] == "gt-houston"
    assert found("00901", "GT")[0] == "gt-miami"


def test_every_card_fits_one_sms_segment_in_every_language():
    place = find_place("77002")
    for consulate in DIRECTORY.consulates:
        for language in ("es", "en"):
            text = card_of(consulate, place, VOCABULARY.weekdays(language), language) + ". Responda MAS para otro."
            shape = measure(text)
            assert (shape.encoding, shape.segments) == ("gsm7", 1), text


async def test_consulado_by_sms_gives_the_best_one_then_mas_for_more(start):
    phone = Phone(await start("console"))
    first = await phone.send("CONSULADO 77002")
    assert first.startswith("Consulado en Houston. 4506 Caroline St, Houston, TX 77004. +17135550170. Lun-Sab ")
    assert first.endswith(" km. Responda MAS para otro.") and len(first) <= 160
    second = await phone.send("mas")
    assert second.startswith("Consulado en ") and "Houston" not in second.split(".")[0]
    # A typo; the English word answers in English, the consulate's name too (config/consulates.yaml name_en).
    assert (await phone.send("CONSULATE Los Angelos")).startswith("Consulate in Los Angeles. 2401 W 6th St")


async def test_an_unknown_place_asks_again_helpfully(start):
    phone = Phone(await start("console"))
    assert await phone.send("CONSULADO zzzz") == (
        "No encontramos ese lugar. Escriba un codigo postal (77002) o ciudad y estado (Houston TX):"
    )
    assert (await phone.send("Dallas TX")).startswith("Consulado en Dallas.")


async def test_ussd_offers_the_saved_location_first_and_pages_one_consulate_per_screen(start):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("UBICACION 60601")
    await phone.send("1")  # consent
    screens = await dial(client, ["3", "1", "1"], phone=HOUSTON_PERSON)
    assert screens[1] == "CON ¿Donde busca?\n1. Cerca de 60601\n2. Otro lugar\n0 Atras"
    assert screens[2].startswith("CON 1/5 Consulado en Chicago. ")
    assert screens[2].endswith("\n1. Siguiente\n2. Pedir cita aqui\n0 Atras") and len(screens[2]) <= 182
    assert screens[3].startswith("CON 2/5 Consulado en ")
    # That session was left on a screen: the next dial offers it as one more line of the main menu.
    other = await dial(client, ["3", "2", "Houston"], phone=HOUSTON_PERSON)
    assert other[0].endswith("\n8. Continuar donde se quedo")
    assert other[-1].startswith("CON 1/5 Consulado en Houston. ")


async def test_nationality_chooses_whose_consulates_answer(start):
    phone = Phone(await start("console"), HOUSTON_PERSON)
    await phone.send("PAIS Guatemala")
    assert (await phone.send("1")).startswith("Listo: le atienden los consulados de su pais.")  # after consent
    assert (await phone.send("CONSULADO 77002")).startswith("Consulado GT Houston.")


# A number from a country with no consular network here, nor where the consulates are (Honduras: +504).
HONDURAN_NUMBER = "+50455550142"


async def test_a_number_from_a_country_not_served_is_asked_whose_consulates_before_a_search(start):
    phone = Phone(await start("console"), HONDURAN_NUMBER)
    question = await phone.send("CONSULADO 77002")
    assert question == "¿De que pais es? Le atienden sus consulados.\n1 Mexico\n2 Guatemala\n3 Otro pais"
    assert (await phone.send("2")).startswith("Consulado GT Houston.")  # the search goes on where it was
    # Nothing stored without consent: the next search asks again.
    assert await phone.send("CONSULADO 77002") == question
    # A US number says nothing of a nationality: its search goes straight on, as before.
    us_phone = Phone(phone.client, "+17135550111")
    assert (await us_phone.send("CONSULADO 77002")).startswith("Consulado en Houston.")


async def test_ussd_asks_whose_consulates_and_says_plainly_when_a_country_is_not_served(start):
    client = await start("console")
    screens = await dial(client, ["3", "3"], phone=HONDURAN_NUMBER)
    assert screens[1] == (
        "CON ¿De que pais es? Le atienden sus consulados.\n1. Mexico\n2. Guatemala\n3. Otro pais\n0 Atras"
    )
    assert screens[2] == (
        "CON Lifeline todavia no tiene los consulados de ese pais. Linea 24 horas: Centro de Asistencia (CIAM) "
        "+18555550170. ¿Es de uno de estos paises?\n1. Mexico\n2. Guatemala\n0 Atras"
    )
    assert len(screens[2]) <= 182
    # The served countries are still offered, and the search goes on.
    screens = await dial(client, ["3", "3", "1", "77002"], phone=HONDURAN_NUMBER)
    assert screens[3] == "CON Escriba su codigo postal, o ciudad y estado:\n0 Atras"
    assert screens[4].startswith("CON 1/5 Consulado en Houston. ")


async def test_a_booking_from_a_number_of_a_country_not_served_asks_whose_consulates_first(start):
    client = await start("console")
    screens = await dial(client, ["4", "2"], phone=HONDURAN_NUMBER)
    assert screens[1].startswith("CON ¿De que pais es? Le atienden sus consulados.\n1. Mexico\n2. Guatemala")
    assert screens[2].startswith("CON ¿Que tramite?")


@pytest.mark.parametrize(
    "typed,answer",
    [
        (
            "PAIS Honduras",
            "Lifeline todavia no tiene los consulados de ese pais. Linea 24 horas: Centro de Asistencia (CIAM) "
            "+18555550170. ¿Es de uno de estos paises?\n1 Mexico\n2 Guatemala",
        ),
        (
            "COUNTRY Honduras",
            "Lifeline does not have that country's consulates yet. 24-hour line: Centro de Asistencia (CIAM) "
            "+18555550170. Are you from one of these?\n1 Mexico\n2 Guatemala",
        ),
        ("PAIS hondureña", "Lifeline todavia no tiene los consulados de ese pais. Linea 24 horas: "),
        ("PAIS El Salvador", "Lifeline todavia no tiene los consulados de ese pais. Linea 24 horas: "),
    ],
    ids=["PAIS Honduras", "COUNTRY Honduras", "PAIS hondurena", "PAIS El Salvador"],
)
async def test_a_nationality_not_served_is_told_so_with_the_24_hour_line(start, typed, answer):
    phone = Phone(await start("console"), HOUSTON_PERSON)
    reply = await phone.send(typed)
    assert reply.startswith(answer)
    assert measure(reply).segments == 1


async def test_a_served_country_picked_after_one_not_served_is_saved_once_agreed(start):
    phone = Phone(await start("console"), HOUSTON_PERSON)
    await phone.send("PAIS Honduras")
    assert (await phone.send("2")).startswith("Lifeline guarda, cifrados")  # Guatemala; consent first
    assert (await phone.send("1")).startswith("Listo: le atienden los consulados de su pais.")
    assert (await phone.send("CONSULADO 77002")).startswith("Consulado GT Houston.")


async def test_the_24_hour_line_is_given_with_its_number(start):
    phone = Phone(await start("console"), HOUSTON_PERSON)
    await phone.send("PAIS Guatemala")
    assert await phone.send("1") == (  # after consent
        "Listo: le atienden los consulados de su pais. Linea 24 horas: Centro de Atencion al Migrante +18555550180."
    )


async def test_an_alert_from_a_country_not_served_pages_at_once_and_asks_nothing(start):
    client = await start("console")
    phone = Phone(client, HONDURAN_NUMBER)
    assert (await phone.send("ALERTA")).startswith("Aviso ")
    # No question before it: the first network's 24-hour line is paged, as for any number no consulate claims.
    paged = await in_store(client, lambda: [m.to for m in OutboxMessage.select() if m.body.startswith("ALERTA ")])
    assert sorted(paged) == ["+18555550170", "+18555550171"]
    assert (await phone.send("CONSULADO 77002")).startswith("¿De que pais es?")
