"""How the conversation writes SMS to the outbox: encoding recorded, transliteration by policy, route."""

from __future__ import annotations

import dataclasses

import pytest

from gateway import keys
from gateway.conversation import Sms, enqueue, route_for
from gateway.outbox.policy import OutboxPolicy
from gateway.policy import Policy
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
    outgoing = [Sms(PERSON, SPANISH)]
    route = route_for(("console",), "console")
    await in_store(client, enqueue, outgoing, "test:1", route, policy.outbox, client.app[keys.CLOCK]())
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
