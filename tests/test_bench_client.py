"""The load client of `make bench` (bench/loadgen.py) sends what Lifeline accepts, and reads its answers
right: a bench whose requests were refused (a bad Twilio signature, a menu walk that ends on an error
screen) would time the refusals."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import loadgen  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def send(port: int, requests: loadgen.Requests, session: int, dial: int, hop: int) -> tuple[int, str]:
    connection = await loadgen.connect(port)
    try:
        status, body, _ = await connection.request(requests.dial(session, dial, hop))
    finally:
        connection.transport.close()
    return status, body.decode()


async def test_a_signed_sms_from_the_bench_is_taken_and_answered(start, fake):
    client = await start("twilio")
    port = client.server.port
    requests = loadgen.Requests("twilio-sms", port, "t", twilio_token=fake.twilio_token)
    status, body = await send(port, requests, session=3, dial=0, hop=0)
    assert status == 200 and "<Response" in body
    # The menu the bench asked for reaches the sender's phone.
    number = "+1555555" + f"{3 * 7919 % 10000:04d}"
    assert "Lifeline" in (await fake.wait_for(1))[0].body
    assert fake.accepted[0].to == number


async def test_the_bench_walk_reaches_my_contacts(start):
    client = await start("console")
    port = client.server.port
    requests = loadgen.Requests("ussd-walk", port, "t")
    screens = [await send(port, requests, session=1, dial=0, hop=hop) for hop in range(3)]
    assert [status for status, _ in screens] == [200, 200, 200]
    assert screens[0][1].startswith("CON Lifeline")
    assert screens[1][1].startswith("CON") and "1. Acepto" in screens[1][1]  # consent, before anything is kept
    assert screens[2][1].startswith("CON Mis contactos")


@pytest.mark.parametrize("scenario", ["ussd-first", "ussd-walk", "twilio-sms"])
def test_templated_requests_are_what_urlencode_and_the_twilio_sdk_would_send(scenario):
    requests = loadgen.Requests(scenario, 8080, "m12c1")
    for session, dial, hop in [(0, 0, 0), (199, 98765, 0), (7, 3, len(requests.hops) - 1)]:
        head, _, body = requests.dial(session, dial, hop).partition(b"\r\n\r\n")
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        assert body.decode() == urlencode(form)
        assert f"Content-Length: {len(body)}".encode() in head
        if scenario == "twilio-sms":
            signature = next(line for line in head.split(b"\r\n") if line.startswith(b"X-Twilio-Signature: "))
            expected = RequestValidator(loadgen.TWILIO_TOKEN).compute_signature(
                "http://127.0.0.1:8080/twilio/sms", form
            )
            assert signature.decode() == f"X-Twilio-Signature: {expected}"
        else:
            assert form["text"] == loadgen.WALK[hop] if scenario == "ussd-walk" else form["text"] == ""


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", (200, b"hello", True)),
        (b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nConnection: close\r\n\r\n", (403, b"", False)),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nCON\r\n2\r\n x\r\n0\r\n\r\n",
            (200, b"CON x", True),
        ),
    ],
    ids=["content-length", "close", "chunked"],
)
def test_a_response_is_read_whole_and_only_when_whole(raw, expected):
    for cut in range(len(raw)):  # every way the bytes can be split between two reads
        buffer = bytearray(raw[:cut])
        assert loadgen._response(buffer) is None
        buffer += raw[cut:] + b"HTTP/1.1 200"  # the next response's first bytes stay in the buffer
        assert loadgen._response(buffer) == expected
        assert buffer == b"HTTP/1.1 200"


async def test_a_request_sent_during_the_warm_up_is_not_timed_in_the_measure():
    """The first requests of many new connections wait during the warm-up; answered after the measure
    began, they must not bring that wait into it (they did: a 2 s maximum at 200 sessions)."""
    import asyncio

    from aiohttp import web

    first = asyncio.Event()

    async def ussd(request: web.Request) -> web.Response:
        if not first.is_set():
            await asyncio.sleep(0.6)  # the warm-up's slow first answers
        return web.Response(text="CON Lifeline")

    app = web.Application()
    app.router.add_post("/africastalking/ussd", ussd)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state = {"stopping": False, "tally": loadgen.Tally()}
    load = asyncio.create_task(loadgen.closed_loop(loadgen.Requests("ussd-first", port, "w"), port, 4, state))
    try:
        await asyncio.sleep(0.2)  # the four first requests are waiting
        measured = state["tally"] = loadgen.Tally()  # the driver's `start`
        first.set()
        await asyncio.sleep(0.8)
        state["stopping"] = True
        await asyncio.wait_for(load, 5)
    finally:
        await runner.cleanup()
    assert measured.latencies and measured.errors == 0
    assert max(measured.latencies) < 300_000  # µs: none of the four sent before `start`
