"""Bad input at the HTTP edge gets a clear 4xx, never a 500, and leaves nothing half-done."""

from __future__ import annotations

import asyncio
import gzip
import logging
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.carriers import webhook
from store.models import InboundMessage, OutboxMessage
from tests import payloads
from tests.conftest import PERSON, in_store

SCRIPT = "<script>alert(1)</script>"  # input that must never come back in an answer

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
        st.sampled_from(
            ["", PERSON, "+1", "0" * 40, "😀" * 50, "\x00", "*" * 200, "Success", "delivered", SCRIPT, SCRIPT * 50]
        ),
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
    assert "<script" not in body  # no 4xx echoes what was posted
    if route == "/africastalking/ussd" and response.status == 200:
        assert body.startswith(("CON ", "END ")) and len(body) <= 182


async def test_twilio_signed_garbage_is_a_4xx(start, fake):
    client = await start("twilio", PUBLIC_URL="https://lifeline.example.org")
    form = {"Body": "x" * 10, "Weird": "😀"}
    headers = payloads.twilio_signature(fake.twilio_token, "https://lifeline.example.org/twilio/sms", form)
    response = await client.post("/twilio/sms", data=form, headers=headers)
    assert response.status == 400


# -- raw requests: bodies a form parser cannot read -------------------------------------------------

PUBLIC = "https://lifeline.example.org"
FORM = "application/x-www-form-urlencoded"
USSD_FORM = urlencode(payloads.at_ussd(PERSON, "")).encode()


def raw(path: str, body: bytes, content_type: str = FORM, **headers: str | None) -> bytes:
    """An HTTP/1.1 request as bytes on the wire: Content-Length is the body's unless given (None: left out)."""
    fields = {"Host": "lifeline.test", "Connection": "close", "Content-Type": content_type}
    fields["Content-Length"] = str(len(body))
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    return f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body


def signed_status(status: str) -> bytes:
    """A Twilio status callback, really signed, with the given MessageStatus."""
    form = payloads.twilio_status("SM" + "0" * 32, status)
    signature = payloads.twilio_signature("test-token", PUBLIC + "/twilio/status", form)
    return raw("/twilio/status", urlencode(form).encode(), X_Twilio_Signature=signature["X-Twilio-Signature"])


MULTIPART = (
    b'--b\r\nContent-Disposition: form-data; name="sessionId"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\nATUid_1\r\n--b--\r\n"
)
COMPRESSED = "compressed form body\n"

# label, raw request, expected status, exact body
RAW = [
    (
        "unknown charset",
        raw("/africastalking/ussd", USSD_FORM, FORM + "; charset=klingon"),
        400,
        "unreadable form body\n",
    ),
    ("bytes that are not the charset", raw("/africastalking/ussd", b"abc", FORM + "; charset=utf-16"), 400, None),
    ("invalid UTF-8", raw("/africastalking/ussd", b"sessionId=\xff\xfe&text=\xc3"), 400, "unreadable form body\n"),
    ("gzip that is not gzip", raw("/africastalking/ussd", b"not gzip!!", Content_Encoding="gzip"), 400, COMPRESSED),
    (
        "deflate that is not deflate",
        raw("/africastalking/sms", b"\x00\x01", Content_Encoding="deflate"),
        400,
        COMPRESSED,
    ),
    ("real gzip", raw("/africastalking/ussd", gzip.compress(USSD_FORM), Content_Encoding="gzip"), 400, COMPRESSED),
    ("unknown encoding", raw("/africastalking/ussd", USSD_FORM, Content_Encoding=SCRIPT), 400, COMPRESSED),
    ("identity encoding", raw("/africastalking/ussd", USSD_FORM, Content_Encoding="identity"), 200, "CON Lifeline"),
    (
        "a file upload",
        raw("/africastalking/ussd", MULTIPART, "multipart/form-data; boundary=b"),
        400,
        "file uploads are not accepted\n",
    ),
    (
        "unknown delivery status",
        raw("/africastalking/delivery", urlencode(payloads.at_delivery("ATXid_1", SCRIPT)).encode()),
        400,
        "unknown delivery status\n",
    ),
    (
        "unknown USSD session status",
        raw("/africastalking/ussd/events", urlencode(payloads.at_ussd_end(status=SCRIPT)).encode()),
        400,
        "unknown USSD session status\n",
    ),
    ("unknown MessageStatus", signed_status(SCRIPT), 400, "unknown MessageStatus\n"),
    (
        "a number that is markup",
        raw("/africastalking/sms", urlencode(payloads.at_sms(SCRIPT, "hola")).encode()),
        400,
        "not a possible phone number\n",
    ),
    (
        "an id that is too long",
        raw("/africastalking/sms", urlencode(payloads.at_sms(PERSON, "hola", SCRIPT * 10)).encode()),
        400,
        "field id longer than 128 characters\n",
    ),
]
# The same message for every body that cannot be read, whatever made it unreadable.
RAW = [(label, request, status, body or "unreadable form body\n") for label, request, status, body in RAW]


async def exchange(client, request: bytes, half_close: bool = False) -> tuple[int | None, str]:
    """Sends raw bytes to the service; (status, body) of the answer, (None, "") when none came."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(request)
        if half_close:
            writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    if not answer:
        return None, ""
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def errors_logged(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("label,request_bytes,status,body", RAW, ids=[r[0] for r in RAW])
async def test_unreadable_bodies_get_a_fixed_400_and_echo_nothing(start, caplog, label, request_bytes, status, body):
    client = await start("africastalking,twilio", PUBLIC_URL=PUBLIC)
    answer = await exchange(client, request_bytes)
    if status == 200:
        assert answer[0] == 200 and answer[1].startswith(body)
    else:
        assert answer == (status, body)
        assert await in_store(client, InboundMessage.select().count) == 0
    assert "<script" not in answer[1]
    assert errors_logged(caplog) == []


UNPARSABLE = [
    ("markup as the HTTP version", f"GET / HTTP/{SCRIPT}\r\nHost: x\r\n\r\n".encode()),
    ("markup in the method", f"G{SCRIPT}ET / HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
    ("a header name with a control byte", f"GET / HTTP/1.1\r\nX-Bad\x01: {SCRIPT}\r\n\r\n".encode()),
    ("a Content-Length that is markup", raw("/africastalking/sms", b"", Content_Length=SCRIPT)),
    ("a number in a broken header", b"POST /africastalking/sms HTTP/1.1\r\nFrom+15555550142: x\x00\r\n\r\n"),
]


@pytest.mark.parametrize("label,request_bytes", UNPARSABLE, ids=[u[0] for u in UNPARSABLE])
async def test_a_request_the_http_parser_cannot_read_gets_a_400_that_quotes_nothing(start, label, request_bytes):
    client = await start("africastalking")
    status, body = await exchange(client, request_bytes)
    assert (status, body) == (400, "unreadable request\n")
    response = await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, ""))
    assert response.status == 200  # and the service carries on


async def test_a_body_cut_short_by_a_client_that_stays_gets_a_400(start, caplog, monkeypatch):
    monkeypatch.setattr(webhook, "BODY_SECONDS", 0.3)
    client = await start("africastalking")
    cut = raw("/africastalking/ussd", USSD_FORM[:20], Content_Length=str(len(USSD_FORM)))
    assert await exchange(client, cut) == (400, "form body incomplete\n")
    assert errors_logged(caplog) == []


async def test_a_body_cut_short_by_a_client_that_leaves_is_no_error(start, caplog):
    client = await start("africastalking")
    cut = raw("/africastalking/ussd", USSD_FORM[:20], Content_Length=str(len(USSD_FORM)))
    assert await exchange(client, cut, half_close=True) == (None, "")
    await asyncio.sleep(0.1)  # the handler runs on after the client left; let it finish
    assert errors_logged(caplog) == []
    assert await in_store(client, InboundMessage.select().count) == 0
    response = await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, ""))
    assert response.status == 200  # and the service carries on
