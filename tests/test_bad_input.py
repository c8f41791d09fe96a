"""Bad input at the HTTP edge gets a clear 4xx, never a 500, and leaves nothing half-done."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.models import InboundMessage, OutboxMessage
from tests import payloads
from tests.conftest import PERSON, in_store

ROUTES = [
    "/africastalking/ussd",
    "/africastalking/ussd/events",
    "/africastalking/sms",
    "/africastalking/delivery",
    "/twilio/sms",
    "/twilio/status",
]

BODIES = [
    ("empty body", b"", "application/x-www-form-urlencoded", {400, 403}),
    ("1 MB body", b"text=" + b"a" * 1_000_000, "application/x-www-form-urlencoded", {413}),
    ("JSON instead of a form", b'{"text": "hola"}', "application/json", {400, 403}),
    ("invalid UTF-8", b"sessionId=\xff\xfe&phoneNumber=%FF", "application/x-www-form-urlencoded", {400, 403}),
    (
        "NUL bytes in ids",
        b"sessionId=a%00b&id=a%00b&phoneNumber=%2B15555550142",
        "application/x-www-form-urlencoded",
        {400, 403},
    ),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("label,body,content_type,statuses", BODIES, ids=[b[0] for b in BODIES])
async def test_malformed_bodies_get_a_4xx(start, route, label, body, content_type, statuses):
    client = await start("africastalking,twilio")
    response = await client.post(route, data=body, headers={"Content-Type": content_type})
    assert response.status in statuses, await response.text()
    assert await in_store(client, InboundMessage.select().count) == 0
    assert await in_store(client, OutboxMessage.select().count) == 0


async def test_wrong_method_and_unknown_path(start):
    client = await start("console")
    assert (await client.get("/africastalking/ussd")).status == 405
    assert (await client.post("/nowhere")).status == 404


def field_values():
    return st.one_of(
        st.text(max_size=300),
        st.sampled_from(["", PERSON, "+1", "0" * 40, "😀" * 50, "\x00", "*" * 200, "Success", "delivered"]),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES[:4]),
    form=st.dictionaries(
        st.sampled_from(
            [
                "sessionId",
                "phoneNumber",
                "serviceCode",
                "text",
                "from",
                "to",
                "id",
                "status",
                "hopsCount",
                "durationInMillis",
                "failureReason",
                "networkCode",
            ]
        ),
        field_values(),
        max_size=8,
    ),
)
async def test_any_form_on_any_africastalking_route_is_never_a_server_error(shared_service, route, form):
    client = await shared_service()
    response = await client.post(route, data=form)
    body = await response.text()
    assert response.status < 500, body
    if route == "/africastalking/ussd" and response.status == 200:
        assert body.startswith(("CON ", "END ")) and len(body) <= 182


async def test_twilio_signed_garbage_is_a_4xx(start, fake):
    client = await start("twilio", PUBLIC_URL="https://lifeline.example.org")
    form = {"Body": "x" * 10, "Weird": "😀"}
    headers = payloads.twilio_signature(fake.twilio_token, "https://lifeline.example.org/twilio/sms", form)
    response = await client.post("/twilio/sms", data=form, headers=headers)
    assert response.status == 400
