"""Africa's Talking webhooks, as tables of real payloads: status, a fragment of the answer, and the effect."""

from __future__ import annotations

import asyncio

import pytest

from store import inbound as inbound_store
from store.models import InboundMessage, OutboxMessage, Person, UssdSessionEnd
from tests import payloads
from tests.conftest import PERSON, in_store

USSD_CASES = [
    ("first dial", payloads.at_ussd(PERSON, ""), 200, "CON Lifeline"),
    ("one-dial alert", payloads.at_ussd(PERSON, "1", session="s-opt1"), 200, "CON Aviso "),
    ("unknown option", payloads.at_ussd(PERSON, "9", session="s-opt9"), 200, "CON Opcion no valida."),
    ("number without plus", payloads.at_ussd("15555550142", ""), 200, "CON "),
    ("emoji input", payloads.at_ussd(PERSON, "3*😀", session="s-emoji"), 200, "CON No encontramos ese lugar."),
    ("control characters", payloads.at_ussd(PERSON, "1\x00\x07", session="s-ctl"), 200, "CON Aviso "),
    ("missing sessionId", {k: v for k, v in payloads.at_ussd(PERSON).items() if k != "sessionId"}, 400, "sessionId"),
    (
        "missing phoneNumber",
        {k: v for k, v in payloads.at_ussd(PERSON).items() if k != "phoneNumber"},
        400,
        "phoneNumber",
    ),
    ("missing text is a first hop", {k: v for k, v in payloads.at_ussd(PERSON).items() if k != "text"}, 200, "CON "),
    ("invalid number", payloads.at_ussd("12", ""), 400, "phone number"),
    ("letters for a number", payloads.at_ussd("not-a-number", ""), 400, "phone number"),
    ("sessionId too long", payloads.at_ussd(PERSON, "", session="x" * 500), 400, "sessionId"),
    ("text too long", payloads.at_ussd(PERSON, "1" * 5000), 400, "text"),
]


@pytest.mark.parametrize("label,form,status,fragment", USSD_CASES, ids=[c[0] for c in USSD_CASES])
async def test_ussd_webhook(start, label, form, status, fragment):
    client = await start()
    response = await client.post("/africastalking/ussd", data=form)
    body = await response.text()
    assert response.status == status, body
    assert fragment in body
    if status == 200:
        assert response.content_type == "text/plain"
        assert body.startswith(("CON ", "END "))
        assert len(body) <= 182


async def test_unknown_sms_gets_the_keyword_help_through_a_provider(start, fake):
    client = await start("africastalking")
    response = await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "hola"))
    assert response.status == 200
    await fake.wait_for(1)
    [sms] = fake.accepted
    assert sms.provider == "africastalking"
    assert sms.to == PERSON
    assert sms.body.startswith("Para pedir ayuda ahora responda 1. Otras palabras: ALERTA, CANCELAR, CONSULADO")


async def test_retried_ussd_hop_gets_the_same_screen_and_is_processed_once(start):
    client = await start("africastalking")
    await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, "", session="retry-me"))
    form = payloads.at_ussd(PERSON, "3", session="retry-me")
    first = await (await client.post("/africastalking/ussd", data=form)).text()
    second = await (await client.post("/africastalking/ussd", data=form)).text()
    assert first == second == "CON Escriba su codigo postal, o ciudad y estado:\n0 Atras"
    assert await in_store(client, InboundMessage.select().count) == 2


SMS_CASES = [
    ("plain", payloads.at_sms(PERSON, "hola"), 200),
    ("accents and emoji", payloads.at_sms(PERSON, "¿Dónde está el consulado? 🙏"), 200),
    ("empty text", payloads.at_sms(PERSON, ""), 200),
    ("missing id", {k: v for k, v in payloads.at_sms(PERSON, "x").items() if k != "id"}, 400),
    ("missing from", {k: v for k, v in payloads.at_sms(PERSON, "x").items() if k != "from"}, 400),
    ("invalid from", payloads.at_sms("+1", "x"), 400),
    ("text of 20 kB", payloads.at_sms(PERSON, "a" * 20_000), 400),
]


@pytest.mark.parametrize("label,form,status", SMS_CASES, ids=[c[0] for c in SMS_CASES])
async def test_sms_webhook(start, fake, label, form, status):
    client = await start("africastalking")
    response = await client.post("/africastalking/sms", data=form)
    assert response.status == status, await response.text()
    if status == 200:
        await fake.wait_for(1)
        assert fake.accepted[0].to == PERSON


async def test_retried_sms_webhook_answers_once(start, fake):
    client = await start("africastalking")
    form = payloads.at_sms(PERSON, "hola", message_id="dup-1")
    for _ in range(3):
        assert (await client.post("/africastalking/sms", data=form)).status == 200
    await fake.wait_for(1)
    assert await in_store(client, InboundMessage.select().count) == 1
    assert await in_store(client, OutboxMessage.select().count) == 1


async def test_one_sms_delivered_many_times_at_once_is_processed_once(start, fake):
    """A carrier's retries may overlap: each gets a 200, one message is kept and one answer sent."""
    client = await start("africastalking")
    form = payloads.at_sms(PERSON, "hola", message_id="dup-at-once")
    answers = await asyncio.gather(*(client.post("/africastalking/sms", data=form) for _ in range(8)))
    assert [answer.status for answer in answers] == [200] * 8
    await fake.wait_for(1)
    assert await in_store(client, InboundMessage.select().count) == 1
    assert await in_store(client, OutboxMessage.select().count) == 1


END_CASES = [
    ("success", payloads.at_ussd_end(status="Success"), 200, "completed"),
    ("incomplete", payloads.at_ussd_end(session="s2", status="Incomplete", errorMessage="Timeout"), 200, "incomplete"),
    ("failed", payloads.at_ussd_end(session="s3", status="Failed"), 200, "failed"),
    ("unknown status", payloads.at_ussd_end(status="Exploded"), 400, None),
    ("hops not a number", payloads.at_ussd_end(hopsCount="two"), 400, None),
    ("missing sessionId", {k: v for k, v in payloads.at_ussd_end().items() if k != "sessionId"}, 400, None),
]


@pytest.mark.parametrize("label,form,status,recorded", END_CASES, ids=[c[0] for c in END_CASES])
async def test_ussd_end_of_session(start, label, form, status, recorded):
    client = await start("africastalking")
    response = await client.post("/africastalking/ussd/events", data=form)
    assert response.status == status
    rows = await in_store(client, lambda: list(UssdSessionEnd.select()))
    if recorded:
        [row] = rows
        assert row.status == recorded
        assert row.hops == 2 and row.duration_ms == 3210
    else:
        assert rows == []


async def test_ussd_end_of_session_repeated_is_recorded_once(start):
    client = await start("africastalking")
    for _ in range(2):
        assert (await client.post("/africastalking/ussd/events", data=payloads.at_ussd_end())).status == 200
    assert await in_store(client, UssdSessionEnd.select().count) == 1


@pytest.mark.parametrize(
    "query,status",
    [("", 403), ("?token=wrong", 403), ("?token=s3cret-token", 200)],
    ids=["no token", "wrong token", "right token"],
)
@pytest.mark.parametrize(
    "path", ["/africastalking/ussd", "/africastalking/sms", "/africastalking/delivery", "/africastalking/ussd/events"]
)
async def test_callback_token_guards_every_africastalking_webhook(start, path, query, status):
    client = await start("africastalking", AT_CALLBACK_TOKEN="s3cret-token")
    form = {
        "/africastalking/ussd": payloads.at_ussd(PERSON),
        "/africastalking/sms": payloads.at_sms(PERSON, "hola"),
        "/africastalking/delivery": payloads.at_delivery("ATXid_x", "Success"),
        "/africastalking/ussd/events": payloads.at_ussd_end(),
    }[path]
    response = await client.post(path + query, data=form)
    assert response.status == status


async def test_first_contact_creates_one_person_found_by_hash(start):
    client = await start("africastalking")
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "hola"))
    await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, ""))
    people = await in_store(client, lambda: list(Person.select()))
    assert len(people) == 1
    assert people[0].phone == PERSON
    assert await in_store(client, inbound_store.already_received, "africastalking", "nope") is None
