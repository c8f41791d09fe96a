"""USSD flows through the real Africa's Talking webhook: inputs → the screen a feature phone shows."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import keys
from gateway.engine.engine import Session
from store import sessions
from store.crypto import lookup_hash
from store.models import ConversationSession
from tests import payloads
from tests.conftest import PERSON, in_store

MAIN_ES = (
    "CON Lifeline\n1. Alerta\n2. Estoy a salvo\n3. Buscar consulado\n4. Pedir cita\n5. Mis contactos\n"
    "6. Derechos y ayuda\n7. Idioma / Language"
)
MAIN_EN = (
    "CON Lifeline\n1. Alert\n2. I am safe\n3. Find consulate\n4. Book appointment\n5. My contacts\n"
    "6. Rights and help\n7. Idioma / Language"
)
ASK_PHONE = "CON Numero del contacto con codigo de area. De otro pais: 00 o 011 y el codigo del pais:\n0 Atras"
_sessions = itertools.count(1)


async def dial(client, inputs: list[str], phone: str = PERSON, session: str | None = None) -> list[str]:
    """Every hop of one USSD session, as the carrier sends them: all inputs so far joined by '*'."""
    session = session or f"ATUid_{next(_sessions)}"
    screens = []
    for hop in range(len(inputs) + 1):
        form = payloads.at_ussd(phone, "*".join(inputs[:hop]), session=session)
        response = await client.post("/africastalking/ussd", data=form)
        assert response.status == 200
        screens.append(await response.text())
    return screens


async def choose_english(client, phone: str = PERSON) -> None:
    screens = await dial(client, ["7", "2"], phone)
    assert screens[-1] == "END Done: we will answer you in English."


SPANISH = [
    ("main menu", [], MAIN_ES),
    ("alert asks where, once sent", ["1"], "CON Aviso "),
    ("safe with no open alert", ["2"], "END No tiene avisos abiertos."),
    ("consulate asks where", ["3"], "CON Escriba su codigo postal, o ciudad y estado:\n0 Atras"),
    ("consulate found offline", ["3", "77002"], "CON 1/5 Consulado en Houston. 4506 Caroline St"),
    ("back from a question", ["3", "0"], MAIN_ES),
    ("appointment asks the service", ["4"], "CON ¿Que tramite?\n1 Pasaporte\n2 Matricula consular"),
    ("contacts ask for consent first", ["5"], "CON Lifeline guarda, cifrados, sus contactos, citas y ubicacion."),
    ("declining consent stores nothing", ["5", "2"], "END No guardamos nada."),
    (
        "after consent, without contacts, adding",
        ["5", "1"],
        "CON Mis contactos\n1. Agregar contacto\n2. Mi ubicacion\n3. Mi PIN de seguridad\n4. Mi nombre\n5. Mi pais"
        "\n0 Atras",
    ),
    ("contact number asked", ["5", "1", "1"], ASK_PHONE),
    ("invalid number re-asks", ["5", "1", "1", "12"], "CON Numero no valido. Escribalo con codigo de area; de otro"),
    (
        "a number that may be US or Mexican: which country",
        ["5", "1", "1", "7135550142"],
        "CON ¿De que pais es el numero?\n1 Estados Unidos +17135550142\n2 Mexico +527135550142\n3 Otro pais\n0 Atras",
    ),
    ("contact name asked", ["5", "1", "1", "7135550142", "1"], "CON Nombre del contacto:\n0 Atras"),
    (
        "contact added",
        ["5", "1", "1", "7135550142", "1", "Maria", "1"],
        "END Listo: Maria recibira el aviso si usted pide ayuda.",
    ),
    ("back twice", ["5", "1", "1", "0", "0"], MAIN_ES),
    (
        "rights menu",
        ["6"],
        "CON Derechos y ayuda\n1. Mis derechos\n2. Como usar Lifeline\n3. Hacer una prueba\n"
        "4. Queja o comentario\n5. Borrar mis datos\n0 Atras",
    ),
    ("erasing asks first", ["6", "5"], "CON ¿Borrar todos sus datos de Lifeline"),
    ("rights text", ["6", "1"], "CON Tiene derecho a guardar silencio"),
    ("info goes on", ["6", "1", "1"], "CON Derechos y ayuda\n1. Mis derechos"),
    ("invalid choice re-shows with an error", ["9"], "CON Opcion no valida.\nLifeline\n1. Alerta"),
    ("letters in a menu", ["hola"], "CON Opcion no valida.\nLifeline"),
    ("00 goes home from deep inside", ["5", "1", "1", "00"], MAIN_ES),
    ("language menu", ["7"], "CON Idioma / Language\n1. Español\n2. English\n0 Atras"),
]


@pytest.mark.parametrize("label,inputs,expected", SPANISH, ids=[c[0] for c in SPANISH])
async def test_ussd_in_spanish(start, label, inputs, expected):
    client = await start("console")
    screen = (await dial(client, inputs))[-1]
    assert screen.startswith(expected), screen
    assert len(screen) <= 182


ENGLISH = [
    ("main menu", [], MAIN_EN),
    ("alert", ["1"], "CON Message "),
    ("consulate asks where", ["3"], "CON Type your ZIP code, or city and state:\n0 Back"),
    ("consent", ["5"], "CON We keep your contacts, bookings and location, encrypted."),
    (
        "contacts",
        ["5", "1"],
        "CON My contacts\n1. Add contact\n2. My location\n3. My safety PIN\n4. My name\n5. My country\n0 Back",
    ),
    ("invalid number re-asks", ["5", "1", "1", "abc"], "CON Not a valid number. Type it with the area code;"),
    ("invalid choice", ["8"], "CON Not a valid option.\nLifeline"),
    ("long text pages with 98", ["6", "1"], "CON You may stay silent"),
]


@pytest.mark.parametrize("label,inputs,expected", ENGLISH, ids=[c[0] for c in ENGLISH])
async def test_ussd_in_english_after_choosing_it(start, label, inputs, expected):
    client = await start("console")
    await choose_english(client)
    screen = (await dial(client, inputs))[-1]
    assert screen.startswith(expected), screen
    assert len(screen) <= 182


async def test_each_person_gets_the_main_menu_in_their_own_language_dial_after_dial(start):
    """The main menu is kept rendered per language: people in two languages dialling in turn each keep theirs."""
    client = await start("console")
    english = "+15555550177"
    await choose_english(client, english)
    for _ in range(2):
        assert (await dial(client, [], english))[0] == MAIN_EN
        assert (await dial(client, []))[0] == MAIN_ES
    assert (await dial(client, ["7", "1"], english))[-1].startswith("END ")  # back to Spanish
    assert (await dial(client, [], english))[0] == MAIN_ES


async def test_a_long_text_pages_with_98_within_the_screen_limit(start):
    client = await start("console")
    await choose_english(client)
    names = [
        "Maria Guadalupe Hernandez Lopez",
        "Jose Antonio Rodriguez Garcia",
        "Ana Sofia Martinez Perez",
        "Luis",
        "Rosa Elena Castillo Ramirez",
    ]
    await dial(client, ["5", "1", "1", "17135550190", names[0], "2"])  # consents, then adds the first
    for n, name in enumerate(names[1:], 1):
        await dial(client, ["5", "2", f"1713555019{n}", name, "2"])
    first, second, third = (await dial(client, ["5", "1", "98", "98"]))[-3:]
    assert first.endswith("\n98 More")
    assert "98 More" not in second and second.endswith("0 Back")
    assert third == first  # pages wrap around
    assert all(len(page) <= 182 for page in (first, second))
    whole = first.removeprefix("CON ").removesuffix("\n98 More") + "\n" + second.removeprefix("CON ")
    assert "5 Rosa Elena Castillo Ramirez +17135550194 EN" in whole


async def test_one_dial_shortcut_carries_the_first_option_on_the_first_hop(start):
    client = await start("console")
    form = payloads.at_ussd(PERSON, "1", session="shortcut")
    response = await client.post("/africastalking/ussd", data=form)
    assert re.fullmatch(
        r"CON Aviso [A-Z0-9]{4} enviado al .+\. Luego, para avisar a su familia, envie FAMILIA\. ¿Donde esta\? .+",
        await response.text(),
        re.DOTALL,
    )


async def test_a_session_survives_a_restart(start):
    first = await start("console")
    await dial(first, ["5", "1", "1"], session="restart-me")
    await first.close()
    second = await start("console")  # a new process on the same database
    form = payloads.at_ussd(PERSON, "5*1*1*17135550142", session="restart-me")
    assert await (await second.post("/africastalking/ussd", data=form)).text() == "CON Nombre del contacto:\n0 Atras"


async def test_hops_of_one_session_may_land_on_different_processes(start):
    one, two = await start("console"), await start("console")
    hops = ["", "5", "5*1", "5*1*1", "5*1*1*17135550142", "5*1*1*17135550142*0"]
    screens = []
    for n, text in enumerate(hops):
        client = (one, two)[n % 2]
        response = await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, text, session="split"))
        screens.append(await response.text())
    assert (
        screens[2]
        == "CON Mis contactos\n1. Agregar contacto\n2. Mi ubicacion\n3. Mi PIN de seguridad\n4. Mi nombre\n5. Mi pais"
        "\n0 Atras"
    )
    assert screens[4] == "CON Nombre del contacto:\n0 Atras"
    assert screens[5] == ASK_PHONE


async def test_a_dropped_session_is_offered_again_on_the_next_dial(start, clock):
    client = await start("console")
    await dial(client, ["5", "1", "1"], session="dropped")  # the network drops it here
    offer = (await dial(client, [], session="redial"))[-1]
    assert offer == MAIN_ES + "\n8. Continuar donde se quedo"  # 1 stays the alert
    screens = await dial(client, ["8", "17135550142"], session="redial")
    assert screens[1] == ASK_PHONE
    assert screens[2] == "CON Nombre del contacto:\n0 Atras"  # the resumed flow goes on
    await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, "8*17135550142*Maria*1", session="redial"))
    # The dropped session was offered once, and the resumed one ended: the next dial starts fresh.
    assert (await dial(client, [], session="third"))[-1] == MAIN_ES


async def test_only_a_session_left_mid_way_is_kept_to_be_offered_again(start):
    client = await start("console")
    await dial(client, [], session="at-home")  # most dials: the main menu, then nothing
    await dial(client, ["3", "0"], session="back-home")
    await dial(client, ["2"], session="finished")
    await dial(client, ["5", "1", "1"], session="mid-way")  # last: the next dial offers it, once
    stored = await in_store(client, lambda: {r.key.split(":")[-1]: r.ended for r in ConversationSession.select()})
    # Only the one worth offering again is left unfinished, so a dial's look-up for a dropped session finds
    # (and decrypts) nothing else.
    assert stored == {"at-home": True, "mid-way": False, "back-home": True, "finished": True}
    assert (await dial(client, [], session="redial"))[-1].endswith("\n8. Continuar donde se quedo")


async def test_any_other_line_of_the_offer_is_the_main_menus(start):
    client = await start("console")
    await dial(client, ["3"], session="dropped-2")
    screens = await dial(client, ["9", "2"], session="redial-2")
    assert screens[0].endswith("\n8. Continuar donde se quedo")
    assert screens[1] == "CON Opcion no valida.\n" + MAIN_ES.removeprefix("CON ") + "\n8. Continuar donde se quedo"
    assert screens[2] == "END No tiene avisos abiertos."  # 2 is "I am safe", as on the main menu


async def test_no_offer_after_the_resume_window_or_after_an_end(start, clock):
    client = await start("console")
    await dial(client, ["5", "1", "1"], session="old")
    clock.advance(6 * 60)
    assert (await dial(client, [], session="later"))[-1] == MAIN_ES
    await dial(client, ["2"], session="ended")  # ends with END
    assert (await dial(client, [], session="after-end"))[-1] == MAIN_ES


async def test_the_one_dial_shortcut_is_never_delayed_by_an_offer(start):
    client = await start("console")
    await dial(client, ["5", "1", "1"], session="dropped-3")
    form = payloads.at_ussd(PERSON, "1", session="urgent")
    assert (await (await client.post("/africastalking/ussd", data=form)).text()).startswith("CON Aviso ")


KEYPAD = st.sampled_from(list("0123456789*#") + ["00", "98", "", "hola", "😀", "+1 713 555 0142", "ñ" * 30])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(KEYPAD, max_size=8))
async def test_any_sequence_of_inputs_gets_a_valid_screen(shared_service, inputs):
    client = await shared_service()
    for screen in await dial(client, [i.replace("*", "") for i in inputs]):
        assert screen.startswith(("CON ", "END ")), screen
        assert len(screen) <= 182


async def test_a_session_stored_before_the_flows_changed_starts_afresh(start):
    client = await start("console")
    stale = Session(flow="main", screen="a_screen_since_removed", stack=(("main", "home"),))
    await dial(client, ["5", "1"])  # consent given
    now = client.app[keys.CLOCK]()
    await in_store(
        client,
        sessions.save,
        "ussd:africastalking:stale",
        lookup_hash(PERSON),
        "ussd",
        stale.to_json(),
        1,
        False,
        now,
        now + 600,
    )
    form = payloads.at_ussd(PERSON, "5*1", session="stale")  # replayed from the main menu
    assert await (await client.post("/africastalking/ussd", data=form)).text() == ASK_PHONE
