"""The terminal phone: typed lines → the carrier's webhook forms → what the phone shows."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from gateway.app import TEMPLATES_DIR
from gateway.simulator import ENDED, describe_sms, simulate
from gateway.texts import Texts
from store import outbox
from store.models import OutboxMessage
from tests.conftest import OTHER_PERSON, PERSON, in_store

TOKEN = "simulator-callback-token"
# A numbered option line as the menus show it ("1. Alerta", "1 Alerta").
OPTION_1 = re.compile(r"^1\.? \S", re.MULTILINE)
SMS_TO_YOU = re.compile(r"^SMS to you \[(gsm7|ucs2), (1 segment|[2-9]\d* segments)\]:\n(.+)", re.DOTALL)


class Person:
    """Types scripted lines (None once they run out) and sees everything the simulator writes."""

    def __init__(self, lines: list[str], before_each=None):
        self.lines = list(lines)
        self.read = 0
        self.shown: list[str] = []
        self.before_each = before_each

    async def read_line(self) -> str | None:
        if self.read == len(self.lines):
            return None
        if self.before_each is not None:
            await self.before_each()
        self.read += 1
        return self.lines[self.read - 1]

    def write(self, text: str) -> None:
        self.shown.append(text)

    def screens(self) -> list[str]:
        """What the phone displayed, without the simulator's own [bracketed] lines and banner."""
        return [s for s in self.shown[2:] if not s.startswith("[")]


@pytest.fixture
async def recorder(aiohttp_server):
    """A stand-in service that records each USSD form and answers from a small menu."""
    hops: list[tuple[dict[str, str], dict[str, str]]] = []
    answers = {"": "CON Menu\n1 Ask\n2 Quit", "1": "CON Your name?", "1*": "END Thanks, nobody"}

    async def ussd(request: web.Request) -> web.Response:
        hops.append((dict(await request.post()), dict(request.query)))
        return web.Response(text=answers.get(hops[-1][0]["text"], "END ok"))

    app = web.Application()
    app.router.add_post("/africastalking/ussd", ussd)
    server = await aiohttp_server(app)
    return str(server.make_url("")), hops


async def test_ussd_in_process_shows_the_menu_and_the_answer_to_option_1(make_settings):
    person = Person(["1"])
    await simulate("ussd", PERSON, None, make_settings("console"), person.read_line, person.write)
    assert person.shown[0] == (
        "Lifeline USSD simulator: +15555550142 on a server started inside this command on DATABASE_URL "
        "(--url http://127.0.0.1:8080: a running one). /quit or end of input stops."
    )
    first, second = person.screens()[:2]
    assert first.startswith("Lifeline") and OPTION_1.search(first), first
    assert second and second != first
    unavailable = Texts.load(TEMPLATES_DIR, "es").say("es", "errors.ussd_unavailable")
    assert unavailable not in person.shown


async def test_ussd_hops_are_the_carriers_forms_and_sessions(recorder, make_settings):
    url, hops = recorder
    person = Person(["1", "", "anything", "*384*123*1*2#", "/quit", "never read"])
    await simulate(
        "ussd", PERSON, url, make_settings("console", AT_CALLBACK_TOKEN=TOKEN), person.read_line, person.write
    )

    forms = [form for form, _ in hops]
    assert [f["text"] for f in forms] == ["", "1", "1*", "", "1*2"]
    assert all((f["serviceCode"], f["phoneNumber"], f["networkCode"]) == ("*384*123#", PERSON, "63902") for f in forms)
    assert all(query == {"token": TOKEN} for _, query in hops)
    sessions = [f["sessionId"] for f in forms]
    assert sessions[0] == sessions[1] == sessions[2]
    assert len({sessions[0], sessions[3], sessions[4]}) == 3, "each dial is a new session"
    assert person.read == 5, "nothing is read after /quit"


async def test_ussd_screens_show_without_prefix_and_end_with_a_marker(recorder, make_settings):
    url, _ = recorder
    person = Person(["1", "", "again", "*384*123*1#"])
    await simulate("ussd", PERSON, url, make_settings("console"), person.read_line, person.write)
    # The recorder has no outbox to read: the simulator says so once and goes on.
    assert person.shown[2].startswith("[SMS sent by the server are not shown: cannot read the outbox")
    assert person.shown[3:] == [
        "[dial *384*123#]",
        "Menu\n1 Ask\n2 Quit",
        "Your name?",
        "Thanks, nobody",
        ENDED,
        "[dial *384*123#]",
        "Menu\n1 Ask\n2 Quit",
        "[dial *384*123*1#]",
        "Your name?",
    ]


async def test_ussd_refused_by_the_server_shows_why_and_ends(start, make_settings):
    client = await start("console", AT_CALLBACK_TOKEN=TOKEN)
    person = Person([])
    await simulate("ussd", PERSON, str(client.make_url("")), make_settings("console"), person.read_line, person.write)
    assert person.shown[2:] == ["[dial *384*123#]", "[HTTP 403: bad or missing token]", ENDED]


async def test_sms_in_process_shows_the_reply_to_you_with_its_shape(make_settings):
    person = Person(["hola", "", "/quit"])
    await simulate("sms", PERSON, None, make_settings("console"), person.read_line, person.write)
    [reply] = person.shown[1:]
    match = SMS_TO_YOU.match(reply)
    assert match and "responda 1" in match.group(3), reply


async def test_sms_shows_each_new_outbox_row_once_with_other_numbers_masked(start, make_settings, clock):
    client = await start("console")
    queued = []

    async def someone_else_is_texted():
        """Before each line: an SMS to another phone enters the outbox, as an alert relay would."""
        message = outbox.NewMessage(f"test:{len(queued)}", OTHER_PERSON, "Relay for a contact", "gsm7", 1, ("console",))
        queued.append(await in_store(client, outbox.enqueue, message, clock()))

    person = Person(["hola", "hola otra vez"], before_each=someone_else_is_texted)
    await simulate("sms", PERSON, str(client.make_url("")), make_settings("console"), person.read_line, person.write)

    rows = await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
    expected = [describe_sms(r.to, r.body, r.encoding, r.segments, PERSON) for r in rows]
    assert person.shown[1:] == expected
    assert [s.split(" [")[0] for s in expected] == ["SMS to +1******0143", "SMS to you"] * 2
    assert all(OTHER_PERSON not in line for line in person.shown)


@pytest.mark.parametrize(
    "to,encoding,segments,shown",
    [
        (PERSON, "gsm7", 1, "SMS to you [gsm7, 1 segment]:\nHola"),
        (OTHER_PERSON, "ucs2", 2, "SMS to +1******0143 [ucs2, 2 segments]:\nHola"),
    ],
    ids=["the simulated phone", "another phone, masked"],
)
def test_describe_sms(to, encoding, segments, shown):
    assert describe_sms(to, "Hola", encoding, segments, PERSON) == shown


async def test_an_unknown_mode_is_refused(make_settings):
    with pytest.raises(ValueError, match="mode"):
        await simulate("fax", PERSON, None, make_settings("console"), Person([]).read_line, print)


# Every branch of the main menu, walked from a feature phone in the simulator, in-process.
WALKS = [
    (["1"], "Aviso "),
    (["2"], "No tiene avisos abiertos."),
    (["3", "77002", "1"], "2/5 Consulado en "),
    (["4", "1", "1", "1", "1", "1", "1"], "Cita "),  # ..., Confirm, I agree
    (["5", "1", "1", "17135550199", "Maria", "1"], "Listo: Maria recibira el aviso"),
    (["6", "1", "98"], "Tiene derecho a guardar silencio"),
    (["6", "2"], "Marque este codigo y elija una opcion."),
    (["7", "2"], "Done: we will answer you in English."),
]


@pytest.mark.parametrize("inputs,last", WALKS, ids=["-".join(w[0]) for w in WALKS])
async def test_the_simulator_walks_every_flow_of_the_main_menu(make_settings, inputs, last):
    person = Person([*inputs, "/quit"])
    await simulate("ussd", PERSON, None, make_settings("console"), person.read_line, person.write)
    screens = [line for line in person.shown if not line.startswith(("[", "SMS to"))]
    assert screens[-1].startswith(last), screens
    assert not any("no puede responder" in line for line in person.shown)


async def test_ussd_mode_shows_the_sms_a_hop_sent_to_another_phone(make_settings):
    person = Person(["5", "1", "1", "17135550199", "Maria", "1", "/quit"])
    await simulate("ussd", PERSON, None, make_settings("console"), person.read_line, person.write)
    assert person.shown[-1] == (
        "SMS to +1******0199 [gsm7, 1 segment]:\nLifeline: +15555550142 le puso como contacto de confianza. "
        "Si pide ayuda le avisaremos por aqui. Para no recibir mensajes responda STOP."
    )


async def test_the_simulator_walks_a_drill_from_the_rights_menu(make_settings):
    person = Person(["6", "3", "/quit"])
    await simulate("ussd", PERSON, None, make_settings("console"), person.read_line, person.write)
    assert [line for line in person.shown if line.startswith("PRUEBA ")]
