"""goflow's habit: walk the handler registry, and fail for a handler no case exercises. Each case drives the
real webhooks as a person (or a duty officer) would and checks what the phone shows; the handlers the
case claims to exercise must have run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from gateway import keys
from handlers.registry import HANDLER_NAMES
from tests.test_appointments import HOUSTON_PERSON, MONDAY_MORNING
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial

HOUSTON_DUTY = "+17135550171"  # a duty phone of the Houston consulate (config/consulates.yaml)
ANA = "+1 713 555 0143"


@dataclass(frozen=True)
class Case:
    name: str
    handlers: frozenset[str]  # the handlers this case exercises
    run: Callable[[object], Awaitable[str]]  # drives the client; returns what the phone shows last
    shows: str  # a fragment of it


_phones: dict[tuple[int, str], Phone] = {}


async def registered(client) -> None:
    """A Houston person who agreed to the terms and listed one contact."""
    await _sms(client, f"FAMILIA {ANA} Ana", "1")


async def _sms(client, *texts: str, number: str = HOUSTON_PERSON) -> str:
    """Sends each text in turn; the SMS the phone got back for the last one (all of them, joined)."""
    phone = _phones.setdefault((id(client), number), Phone(client, number))
    answer = ""
    for text in texts:
        answer = "\n".join(await phone.send_all(text))
    return answer


async def _ussd(client, inputs: list[str], number: str = HOUSTON_PERSON) -> str:
    return (await dial(client, inputs, number))[-1]


async def _alert_then(client, *texts: str) -> str:
    await registered(client)
    return await _sms(client, "ALERTA", *texts)


async def _reference(client) -> str:
    """A registered person's alert, by its reference."""
    await registered(client)
    await _sms(client, "ALERTA")
    return (await _sms(client, "ALERTA")).split()[1].rstrip(":")  # "Aviso A7K2: enviado otra vez al ..."


async def _officer(client, verb: str) -> str:
    return await _sms(client, f"{verb} {await _reference(client)}", number=HOUSTON_DUTY)


async def _answer(client) -> str:
    await _sms(client, f"R {await _reference(client)} ¿Sigue ahi?", number=HOUSTON_DUTY)
    return await _sms(client, "Si")


CASES = [
    Case("alert by SMS", frozenset({"alert.raise"}), lambda c: _sms(c, "ALERTA"), "Aviso"),
    Case("location after an alert", frozenset({"alert.locate"}), lambda c: _sms(c, "ALERTA", "77002"), "Gracias"),
    Case("cancel an alert", frozenset({"alert.cancel"}), lambda c: _sms(c, "ALERTA", "CANCELAR"), "cancelado"),
    Case("alert for someone", frozenset({"alert.behalf"}), lambda c: _sms(c, "ALERTA POR 7135550199"), "Solo un"),
    Case("drill", frozenset({"alert.drill"}), lambda c: _sms(c, "PRUEBA"), "PRUEBA"),
    Case("duty officer acknowledges", frozenset({"duty.command"}), lambda c: _officer(c, "OK"), "confirmado"),
    Case("the person answers the officer", frozenset({"alert.answer"}), lambda c: _answer(c), "su respuesta"),
    Case(
        "consent and a contact by USSD, its country picked",
        frozenset({"consent.record", "contacts.read_phone", "contacts.pick_country", "contacts.add"}),
        lambda c: _ussd(c, ["5", "1", "1", "2", "7135550143", "1", "Ana", "1"]),
        "Ana",
    ),
    Case("a contact by SMS", frozenset({"contacts.sms"}), lambda c: _sms(c, f"FAMILIA {ANA} Ana", "1"), "Ana"),
    Case(
        "a contact by SMS, its country picked",
        frozenset({"contacts.sms_country"}),
        lambda c: _sms(c, "FAMILIA 713 555 0143 Ana", "1", "2"),
        "Ana",
    ),
    Case("list the contacts", frozenset({"contacts.list"}), lambda c: _listed(c), "Ana"),
    Case("remove a contact", frozenset({"contacts.choices", "contacts.remove"}), lambda c: _remove_contact(c), "Ana"),
    Case("home location", frozenset({"profile.location"}), lambda c: _sms(c, "UBICACION 77002", "1"), "77002"),
    Case("name", frozenset({"profile.name"}), lambda c: _sms(c, "NOMBRE Maria Lopez", "1"), "Maria Lopez"),
    Case("PINs", frozenset({"profile.pins", "profile.pins_start"}), lambda c: _pins(c), "PIN"),
    Case("remove the PINs", frozenset({"profile.pin_check"}), lambda c: _remove_pins(c), "quitamos sus PIN"),
    Case("language", frozenset({"language.set"}), lambda c: _sms(c, "IDIOMA ingles"), "English"),
    Case("nationality", frozenset({"nationality.set"}), lambda c: _nationality(c), "24"),
    Case("a nationality not served", frozenset({"nationality.other"}), lambda c: _not_served(c), "24"),
    Case("erase", frozenset({"data.erase"}), lambda c: _erase(c), "borrados"),
    Case("decline consent", frozenset({"consent.decline"}), lambda c: _ussd(c, ["5", "2"]), "No guardamos nada"),
    Case("complaint", frozenset({"feedback.complaint"}), lambda c: _sms(c, "QUEJA me trataron mal"), "confidencial"),
    Case("feedback", frozenset({"feedback.comment"}), lambda c: _ussd(c, ["6", "4", "2", "Muy util"]), "Gracias"),
    Case(
        "find a consulate",
        frozenset({"consulate.offer", "consulate.find", "consulate.more"}),
        lambda c: _ussd(c, ["3", "77002", "1"]),
        "Consulado",
    ),
    Case(
        "book by USSD",
        frozenset(
            {
                "appointment.start",
                "appointment.services",
                "appointment.service",
                "appointment.consulates",
                "appointment.consulate",
                "appointment.days",
                "appointment.day",
                "appointment.slots",
                "appointment.slot",
                "appointment.book",
            }
        ),
        lambda c: _ussd(c, ["4", "1", "1", "1", "1", "1", "1"]),  # ..., Confirm, I agree
        "confirmada",
    ),
    Case("book here", frozenset({"appointment.here"}), lambda c: _book_here(c), "Pasaporte"),
    Case("cancel an appointment", frozenset({"appointment.cancel"}), lambda c: _cancel_booking(c), "cancel"),
    Case("change an appointment", frozenset({"appointment.reschedule"}), lambda c: _change_booking(c), "Cita"),
]


async def _listed(client) -> str:
    await registered(client)
    return await _ussd(client, ["5", "1"])


async def _pins(client) -> str:
    await registered(client)
    return await _sms(client, "PIN", "1234", "9876")


async def _remove_pins(client) -> str:
    await _pins(client)
    return await _ussd(client, ["5", "5", "2", "1234"])  # My contacts → PINs → remove, with the safety PIN


async def _erase(client) -> str:
    await _sms(client, "FAMILIA +1 713 555 0199 Maria", "1")  # something to erase
    # On the keypad, whose answer is the screen: by SMS the confirmation is forgotten once it has left.
    return await _ussd(client, ["6", "5", "1"])


async def _remove_contact(client) -> str:
    await registered(client)
    return await _ussd(client, ["5", "3", "1"])


async def _nationality(client) -> str:
    await registered(client)
    return await _sms(client, "PAIS GT")


async def _not_served(client) -> str:
    await registered(client)
    return await _ussd(client, ["5", "7", "3"])  # My contacts → My country → another country


async def _book_here(client) -> str:
    return await _ussd(client, ["3", "77002", "2"])


async def _cancel_booking(client) -> str:
    await _ussd(client, ["4", "1", "1", "1", "1", "1", "1"])
    return await _ussd(client, ["4", "2", "1"])


async def _change_booking(client) -> str:
    await _ussd(client, ["4", "1", "1", "1", "1", "1", "1"])
    return await _ussd(client, ["4", "3", "1", "1", "1", "1"])


def test_every_handler_has_a_case():
    covered = frozenset().union(*(case.handlers for case in CASES))
    assert sorted(HANDLER_NAMES - covered) == [], "handlers with no case in tests/test_registry.py"
    assert sorted(covered - HANDLER_NAMES) == [], "cases for handlers that do not exist"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_each_case_runs_its_handlers_and_shows_the_result(start, clock, case):
    clock.advance(MONDAY_MORNING - clock())
    client = await start("console")
    ran = _record_handlers(client)
    shown = await case.run(client)
    assert case.shows in shown
    assert case.handlers <= ran, f"did not run: {sorted(case.handlers - ran)}"


def _record_handlers(client) -> set[str]:
    """The names of the handlers the service runs from now on (the registry's own functions, wrapped)."""
    ran: set[str] = set()
    handlers = client.app[keys.CONVERSATION]._steps._handlers

    def recorded(name, handler):
        def run(request):
            ran.add(name)
            return handler(request)

        return run

    for name, handler in list(handlers.items()):
        handlers[name] = recorded(name, handler)
    return ran
