"""How the conversation writes SMS to the outbox: encoding recorded, transliteration by policy, route."""

from __future__ import annotations

import dataclasses

import pytest

from gateway import keys
from gateway.conversation import Conversation, Sms, route_for
from gateway.engine.engine import Engine
from gateway.policy import OutboxPolicy, Policy
from store.models import OutboxMessage
from tests.conftest import PERSON, in_store

# 103 characters with one "ó": UCS-2 needs 2 segments, GSM-7 fits in 1.
SPANISH = "Su alerta llegó al consulado de Houston y a sus 3 contactos. Responda SEGURO si ya esta a salvo. Ref A7"


@pytest.mark.parametrize(
    "transliterate,encoding,segments,body",
    [
        (False, "ucs2", 2, SPANISH),
        (True, "gsm7", 1, SPANISH.replace("ó", "o")),
    ],
    ids=["accents kept", "transliterated to save a segment"],
)
async def test_outbox_rows_record_encoding_and_segments(start, transliterate, encoding, segments, body):
    client = await start("console")
    policy = Policy(outbox=dataclasses.replace(OutboxPolicy(), transliterate=transliterate))
    conversation = Conversation(
        client.app[keys.STORE],
        client.app[keys.TEXTS],
        policy,
        ("console",),
        client.app[keys.CLOCK],
        lambda: None,
        Engine(None),
        None,
        {},
    )
    outgoing = [Sms(PERSON, SPANISH)]
    await in_store(client, conversation._enqueue, outgoing, "test:1", "console", client.app[keys.CLOCK]())
    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert (row.encoding, row.segments, row.body) == (encoding, segments, body)


@pytest.mark.parametrize(
    "providers,preferred,route",
    [
        (("africastalking", "twilio"), "twilio", ("twilio", "africastalking")),
        (("africastalking", "twilio"), "africastalking", ("africastalking", "twilio")),
        (("console",), "twilio", ("console",)),
        (("twilio", "africastalking"), None, ("twilio", "africastalking")),
    ],
)
def test_a_reply_goes_first_through_the_carrier_the_person_wrote_to(providers, preferred, route):
    assert route_for(providers, preferred) == route
