"""SMS flows through the real webhooks: a message in → the SMS the person gets back."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.engine.keywords import Ambiguous, Keyword, Keywords, Match
from handlers.reference.text import fold
from store.models import OutboxMessage
from tests import payloads
from tests.conftest import PERSON, in_store

HOUSTON_CARD_ES = "Consulado en Houston. 4506 Caroline St, Houston, TX 77004. +17135550170. Lun-Sab 08:00-14:00."
ALERT_SENT_ES = "Aviso "  # + reference: "Aviso A7K2 enviado a 0 contacto(s) y al ..."
ALERT_SENT_EN = "Message "
NONE_OPEN_ES = "No tiene avisos abiertos."
HELP_ES = (
    "Para pedir ayuda ahora responda 1. Otras palabras: ALERTA, CANCELAR, CONSULADO, CITA, FAMILIA, UBICACION, "
    "IDIOMA, BORRAR."
)
HELP_EN = "To ask for help now reply 1. Other words: ALERT, SAFE, CONSULATE, BOOK, FAMILY, LOCATION, LANG, DELETE."
MENU_ES = (
    "Lifeline\n1 Alerta\n2 Estoy a salvo\n3 Buscar consulado\n4 Pedir cita\n5 Mis contactos\n6 Derechos y ayuda\n"
    "7 Idioma / Language"
)


class Phone:
    """A phone texting the service; `send` returns the SMS it got back (None when none)."""

    def __init__(self, client, number: str = PERSON):
        self.client = client
        self.number = number
        self.seen = 0

    async def send(self, text: str) -> str | None:
        new = await self.send_all(text)
        assert len(new) <= 1
        return new[0] if new else None

    async def send_all(self, text: str) -> list[str]:
        """Every SMS the phone got back for this one (an answer may come with a second message)."""
        response = await self.client.post("/africastalking/sms", data=payloads.at_sms(self.number, text))
        assert response.status == 200
        rows = await in_store(self.client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
        mine = [r for r in rows if r.to == self.number]
        new, self.seen = mine[self.seen :], len(mine)
        return [r.body for r in new if r.status != "failed"]


CONVERSATIONS = [
    ("keyword", [("ALERTA", ALERT_SENT_ES)]),
    ("keyword in lower case with spaces", [("  alerta  ", ALERT_SENT_ES)]),
    ("one-letter typo", [("ALRETA", ALERT_SENT_ES)]),
    ("accents ignored", [("cónsulado 77002", HOUSTON_CARD_ES)]),
    ("keyword with an argument goes straight on", [("CONSULADO 77002", HOUSTON_CARD_ES)]),
    (
        "keyword without its argument asks for it",
        [("CONSULADO", "Escriba su codigo postal, o ciudad y estado:"), ("77002", HOUSTON_CARD_ES)],
    ),
    ("two-word keyword", [("estoy bien", NONE_OPEN_ES)]),
    ("English word answers in English", [("ALERT", ALERT_SENT_EN)]),
    ("unknown text gets the keyword help", [("hola que tal", HELP_ES)]),
    ("emoji gets help", [("🙏🙏", HELP_ES)]),
    ("a bare number with no question pending gets help", [("2", HELP_ES)]),
    (
        "the menu by SMS, answered with a number",
        [("AYUDA", MENU_ES), ("3", "Escriba su codigo postal"), ("77002", HOUSTON_CARD_ES)],
    ),
    ("a wrong number re-asks", [("AYUDA", MENU_ES), ("9", "Opcion no valida.\n" + MENU_ES)]),
    ("a keyword wins over a pending question", [("CONSULADO", "Escriba su codigo postal"), ("ALERTA", ALERT_SENT_ES)]),
    ("FAMILIA alone lists (none yet)", [("FAMILIA", "No tiene contactos.")]),
    (
        "UBICACION asks consent, then saves",
        [("UBICACION 77002", "Lifeline guarda, cifrados"), ("1", "Listo: su ubicacion es 77002.")],
    ),
    (
        "FAMILIA with a number and name asks consent, then adds",
        [
            ("FAMILIA +1 713 555 0142 Maria", "Lifeline guarda, cifrados"),
            ("1", "Listo: Maria recibira el aviso si usted pide ayuda."),
            ("FAMILIA", "1 Maria +17135550142"),
        ],
    ),
    ("language by keyword", [("IDIOMA ingles", "Done: we will answer you in English."), ("hola", HELP_EN)]),
    ("unknown language asks", [("IDIOMA klingon", "Idioma / Language\n1 Español\n2 English")]),
    ("carrier HELP gets our help", [("HELP", HELP_ES)]),
    ("BORRAR asks first", [("BORRAR", "¿Borrar todos sus datos de Lifeline"), ("2", "No se borro nada.")]),
]


@pytest.mark.parametrize("label,exchange", CONVERSATIONS, ids=[c[0] for c in CONVERSATIONS])
async def test_sms_conversation(start, label, exchange):
    phone = Phone(await start("console"))
    for sent, expected in exchange:
        reply = await phone.send(sent)
        assert reply is not None and reply.startswith(expected), (sent, reply)


async def test_stop_silences_everything_until_start(start):
    phone = Phone(await start("console"))
    assert await phone.send("STOP") is None
    assert await phone.send("AYUDA") is None  # recorded as failed, never sent
    rows = await in_store(phone.client, lambda: list(OutboxMessage.select()))
    assert [(r.status, r.last_error) for r in rows] == [("failed", "recipient opted out")]
    assert await phone.send("START") is None  # the carrier confirms opt-in itself
    assert (await phone.send("AYUDA")).startswith("Lifeline\n1 Alerta")


@pytest.mark.parametrize("word", ["STOP", "stop", "Cancel", "END", "QUIT", "UNSUBSCRIBE", "STOPALL"])
async def test_every_carrier_opt_out_word_is_honoured(start, word):
    phone = Phone(await start("console"))
    assert await phone.send(word) is None
    assert await phone.send("hola") is None


async def test_a_pending_question_expires(start, clock):
    phone = Phone(await start("console"))
    assert (await phone.send("CONSULADO")).startswith("Escriba su codigo postal")
    clock.advance(31 * 60)
    assert await phone.send("77002") == HELP_ES


async def test_english_menu_by_sms(start):
    phone = Phone(await start("console"))
    await phone.send("LANG english")
    assert (await phone.send("MENU")).startswith("Lifeline\n1 Alert\n2 I am safe")


def test_typos_are_forgiven_only_when_one_keyword_is_near():
    keywords = Keywords(
        [
            Keyword("home", {"es": ("CASA",)}, "main/home"),
            Keyword("thing", {"es": ("COSA",)}, "main/home"),
            Keyword("alert", {"es": ("ALERTA",)}, "main/alert"),
        ],
        "test",
        fold,
    )
    assert isinstance(keywords.match("CASA"), Match)
    assert keywords.match("CISA") == Ambiguous(("home", "thing"))  # one letter from both: never guess
    assert keywords.match("ALERTAS").keyword.name == "alert"  # one extra letter
    assert keywords.match("LAERTA").keyword.name == "alert"  # two letters swapped
    assert keywords.match("ALRTAX") is None  # two edits
    assert keywords.match("CAS") is None  # too short to guess


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=1000))
async def test_any_sms_text_gets_a_valid_reply(shared_service, text):
    client = await shared_service()
    response = await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, text))
    assert response.status == 200
