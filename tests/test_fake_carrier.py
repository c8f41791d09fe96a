"""The fake carrier against the real SDKs: if these pass, the gateway's tests talk to something SDK-shaped."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from datetime import UTC, datetime, timedelta

import africastalking
import aiohttp
import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from tests.fake_carrier import FakeCarrier, Throttled, Trickle, segments

pytestmark = [
    pytest.mark.asyncio,
    # AsyncTwilioHttpClient uses aiohttp APIs deprecated in 3.14 (BasicAuth): third-party, not ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio.*"),
]

PERSON = "+15555550142"
OTHER = "+15555550143"
TWILIO_FROM = "+15555550100"
HEX32 = "[0-9a-f]{32}"
RFC2822 = r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000"
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()  # a fixed moment for the fake's clock
# Connection errors each SDK surfaces when the carrier drops the connection without an answer.
DROPPED = {"twilio": aiohttp.ClientConnectionError, "africastalking": requests.ConnectionError}


class Clock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = NOON):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # requests honours proxy variables and would send loopback traffic through a proxy.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def at_service(fake: FakeCarrier, api_key: str | None = None) -> africastalking.SMSService:
    """The Africa's Talking SDK pointed at the fake."""
    service = africastalking.SMSService(fake.at_username, api_key or fake.at_api_key)
    service._baseUrl = fake.url + "/version1"  # the SDK builds every URL from this
    return service


async def at_send(service, *recipients: str, **options):
    """The SDK's synchronous send, off the event loop (the fake serves on it)."""
    return await asyncio.to_thread(service.send, "hola", list(recipients or [PERSON]), **options)


@contextlib.asynccontextmanager
async def twilio_client(fake: FakeCarrier, token: str | None = None, **http_options):
    """The Twilio SDK with its aiohttp client, pointed at the fake."""
    http = AsyncTwilioHttpClient(**http_options)  # its ClientSession must be made inside the running loop
    try:
        client = Client(fake.twilio_sid, token or fake.twilio_token, http_client=http, environment={})
        client.api.base_url = fake.url
        yield client
    finally:
        await http.close()


async def twilio_send(client: Client, to: str = PERSON, body: str = "hola", **options):
    return await client.messages.create_async(to=to, from_=TWILIO_FROM, body=body, **options)


async def send(provider: str, fake: FakeCarrier, client: Client, to: str = PERSON, read_timeout: float = 9):
    """One send through the provider's real SDK; Africa's Talking's per-read timeout is read_timeout."""
    if provider == "twilio":
        return await twilio_send(client, to=to)
    return await at_send(at_service(fake), to, timeout=(1, read_timeout))


async def send_outcome(provider: str, fake: FakeCarrier, client: Client) -> str:
    """Sends once: "ok" when the carrier took the message, "recipient_failed" when it refused the number."""
    try:
        answer = await send(provider, fake, client)
    except TwilioRestException as exc:
        assert exc.code == 21211
        return "recipient_failed"
    if provider == "africastalking" and answer["SMSMessageData"]["Recipients"][0]["statusCode"] == 403:
        return "recipient_failed"
    return "ok"


def sync_twilio_client(fake: FakeCarrier) -> Client:
    """The Twilio SDK with its default (requests) HTTP client, pointed at the fake: for messages.list()."""
    client = Client(fake.twilio_sid, fake.twilio_token, environment={})
    client.api.base_url = fake.url
    return client


# -- Africa's Talking ------------------------------------------------------------------------


async def test_africastalking_ok_answers_like_the_live_api():
    async with FakeCarrier() as fake:
        answer = await at_send(at_service(fake))
    [recipient] = answer["SMSMessageData"]["Recipients"]  # a dict: the SDK saw exactly application/json
    assert answer["SMSMessageData"]["Message"] == "Sent to 1/1 Total Cost: KES 0.8000"
    assert (recipient["statusCode"], recipient["status"], recipient["number"]) == (101, "Success", PERSON)
    assert recipient["cost"] == "KES 0.8000"
    assert re.fullmatch("ATXid_" + HEX32, recipient["messageId"])
    [sms] = fake.accepted
    assert (sms.provider, sms.to, sms.body, sms.id) == ("africastalking", PERSON, "hola", recipient["messageId"])
    [request] = fake.received
    assert request.answered == "ok"
    assert request.form == {"username": fake.at_username, "to": PERSON, "message": "hola", "bulkSMSMode": "1"}


async def test_africastalking_content_type_is_exactly_json():
    async with FakeCarrier() as fake:
        response = await asyncio.to_thread(
            requests.post,
            fake.url + "/version1/messaging",
            data={"username": fake.at_username, "to": PERSON, "message": "hola", "bulkSMSMode": 1},
            headers={"apiKey": fake.at_api_key, "Accept": "application/json"},
        )
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"


async def test_africastalking_several_recipients_and_sender_id():
    async with FakeCarrier() as fake:
        answer = await at_send(at_service(fake), PERSON, OTHER, sender_id="LIFELINE", enqueue=True)
    assert answer["SMSMessageData"]["Message"] == "Sent to 2/2 Total Cost: KES 1.6000"
    assert [m.to for m in fake.accepted] == [PERSON, OTHER]
    assert fake.accepted_to(OTHER)[0].sender == "LIFELINE"
    [request] = fake.received
    assert (request.to, request.sender, request.form["enqueue"]) == (f"{PERSON},{OTHER}", "LIFELINE", "1")


async def test_africastalking_scripted_errors_raise_then_ok():
    async with FakeCarrier() as fake:
        fake.script("africastalking", 500, 429, "ok")
        service = at_service(fake)
        for _ in range(2):
            with pytest.raises(africastalking.Service.AfricasTalkingException):
                await at_send(service)
        assert (await at_send(service))["SMSMessageData"]["Recipients"][0]["status"] == "Success"
        assert (await at_send(service))["SMSMessageData"]["Recipients"][0]["status"] == "Success"  # script empty
    assert [r.answered for r in fake.received] == ["500", "429", "ok", "ok"]
    assert len(fake.accepted) == 2


@pytest.mark.parametrize(
    "behaviour,code,status", [("recipient_failed", 403, "InvalidPhoneNumber"), ("opted_out", 406, "UserInBlacklist")]
)
async def test_africastalking_recipient_failure_inside_a_2xx_answer(behaviour, code, status):
    async with FakeCarrier() as fake:
        fake.script("africastalking", behaviour)
        answer = await at_send(at_service(fake))
    [recipient] = answer["SMSMessageData"]["Recipients"]
    assert (recipient["statusCode"], recipient["status"], recipient["messageId"]) == (code, status, "None")
    assert answer["SMSMessageData"]["Message"] == "Sent to 0/1 Total Cost: 0"
    assert fake.accepted == []
    assert [r.answered for r in fake.received] == [behaviour]


async def test_africastalking_wrong_key_is_401_and_consumes_no_script():
    async with FakeCarrier() as fake:
        fake.script("africastalking", 500)
        with pytest.raises(africastalking.Service.AfricasTalkingException, match="authentication"):
            await at_send(at_service(fake, api_key="wrong"))
        with pytest.raises(africastalking.Service.AfricasTalkingException):
            await at_send(at_service(fake))
    assert [r.answered for r in fake.received] == ["unauthorized", "500"]


# -- Twilio ----------------------------------------------------------------------------------


async def test_twilio_ok_returns_the_message_resource():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        callback = "https://lifeline.example.org/twilio/status"
        message = await twilio_send(client, status_callback=callback)
    assert re.fullmatch("SM" + HEX32, message.sid)
    assert (message.account_sid, message.to, message.from_) == (fake.twilio_sid, PERSON, TWILIO_FROM)
    assert (message.body, message.status, message.direction) == ("hola", "queued", "outbound-api")
    assert (message.num_segments, message.num_media) == ("1", "0")
    assert message.date_created.tzinfo is not None  # parsed from RFC 2822
    assert (message.error_code, message.error_message, message.price) == (None, None, None)
    assert message.uri == f"/2010-04-01/Accounts/{fake.twilio_sid}/Messages/{message.sid}.json"
    [sms] = fake.accepted
    assert (sms.provider, sms.id, sms.to, sms.sender) == ("twilio", message.sid, PERSON, TWILIO_FROM)
    assert fake.received[0].form["StatusCallback"] == callback


async def test_twilio_messaging_service_without_from():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        service_sid = "MG" + "1" * 32
        message = await client.messages.create_async(to=PERSON, messaging_service_sid=service_sid, body="hola")
    assert (message.status, message.from_, message.messaging_service_sid) == ("accepted", None, service_sid)
    assert fake.accepted[0].sender == service_sid


@pytest.mark.parametrize(
    "behaviour,status,code",
    [("opted_out", 400, 21610), ("recipient_failed", 400, 21211), (429, 429, 20429), (500, 500, 20500)],
)
async def test_twilio_scripted_errors_raise_with_twilio_codes(behaviour, status, code):
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script("twilio", behaviour)
        with pytest.raises(TwilioRestException) as raised:
            await twilio_send(client)
        assert (raised.value.status, raised.value.code) == (status, code)
        assert (await twilio_send(client)).sid.startswith("SM")  # the script is used up
    assert [r.answered for r in fake.received] == [str(behaviour), "ok"]
    assert len(fake.accepted) == 1


async def test_twilio_opted_out_error_body_is_twilios():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script("twilio", "opted_out")
        with pytest.raises(TwilioRestException) as raised:
            await twilio_send(client)
    assert raised.value.msg.endswith("Attempt to send to unsubscribed recipient")  # the SDK prefixes its own words
    assert raised.value.uri.endswith("/Messages.json")


async def test_twilio_wrong_token_is_20003():
    async with FakeCarrier() as fake, twilio_client(fake, token="wrong") as client:
        with pytest.raises(TwilioRestException) as raised:
            await twilio_send(client)
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert [r.answered for r in fake.received] == ["unauthorized"]


async def test_twilio_invalid_number_is_21211_without_using_the_script():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script("twilio", 500)
        with pytest.raises(TwilioRestException) as raised:
            await twilio_send(client, to="5550142")
    assert raised.value.code == 21211
    assert [r.answered for r in fake.received] == ["invalid"]


@pytest.mark.parametrize(
    "body,parts",
    [
        ("hola", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
    ],
)
async def test_segments_follow_gsm7_and_ucs2(body, parts):
    assert segments(body) == parts


# -- outages ---------------------------------------------------------------------------------


async def test_refuse_then_accept_on_the_same_url():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        url = fake.url
        await twilio_send(client)  # leaves a keep-alive connection that refuse() must drop too
        await fake.refuse()
        with pytest.raises(aiohttp.ClientConnectionError):
            await twilio_send(client)
        with pytest.raises(requests.ConnectionError):
            await at_send(at_service(fake))
        await fake.accept()
        assert fake.url == url
        await twilio_send(client)
        await at_send(at_service(fake))
    assert [m.provider for m in fake.accepted] == ["twilio", "twilio", "africastalking"]


async def test_hang_lets_the_client_time_out_and_stop_stays_prompt():
    fake = FakeCarrier()
    await fake.start()
    try:
        fake.script("twilio", "hang")
        fake.script("africastalking", "hang")
        async with twilio_client(fake) as client:
            # AsyncTwilioHttpClient ignores its timeout= argument (twilio 9.13), so a caller bounds the
            # call itself, as the gateway does.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(twilio_send(client), 0.3)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            await asyncio.wait_for(at_send(at_service(fake), timeout=(1, 0.3)), 5)
        assert time.monotonic() - started < 2  # the SDK's own read timeout fired, not the safety net
        assert [r.answered for r in fake.received] == ["hang", "hang"]
        assert fake.accepted == []
    finally:
        started = time.monotonic()
        await fake.stop()
        assert time.monotonic() - started < 1.5
    await fake.stop()  # idempotent


async def test_stop_drops_a_request_still_hanging():
    async with FakeCarrier() as fake:
        fake.script("twilio", "hang")
        async with twilio_client(fake) as client:
            pending = asyncio.ensure_future(twilio_send(client))
            while not fake.received:  # the request must be in the handler before stopping
                await asyncio.sleep(0.01)
            started = time.monotonic()
            await fake.stop()
            assert time.monotonic() - started < 1.5
            with pytest.raises(aiohttp.ClientConnectionError):
                await asyncio.wait_for(pending, 5)


# -- waiting and threads ---------------------------------------------------------------------


async def test_wait_for_wakes_on_acceptance_and_times_out_with_context():
    async with FakeCarrier() as fake:
        waiting = asyncio.ensure_future(fake.wait_for(2, timeout=5))
        await at_send(at_service(fake), PERSON, OTHER)
        assert [m.to for m in await waiting] == [PERSON, OTHER]
        assert len(await fake.wait_for(1)) == 2  # already satisfied: returns at once
        with pytest.raises(TimeoutError, match="accepted 2 of 3"):
            await fake.wait_for(3, timeout=0.1)


async def test_in_thread_serves_synchronous_callers_and_other_loops():
    with FakeCarrier.in_thread() as fake:
        fake.script("africastalking", 500)  # from this thread, consumed on the fake's
        service = at_service(fake)
        with pytest.raises(africastalking.Service.AfricasTalkingException):
            service.send("hola", [PERSON])
        waiting = asyncio.ensure_future(fake.wait_for(1))  # waits on this loop, woken from the fake's
        service.send("hola", [PERSON])
        await waiting
        await fake.refuse()  # from another loop: run on the fake's own
        with pytest.raises(requests.ConnectionError):
            service.send("hola", [PERSON])
        await asyncio.to_thread(fake.call_blocking, fake.accept)
        service.send("hola", [OTHER])
        assert await asyncio.to_thread(fake.call_blocking, fake.wait_for, 2)
        async with twilio_client(fake) as client:
            await twilio_send(client)
    assert [r.answered for r in fake.received] == ["500", "ok", "ok", "ok"]
    assert [m.to for m in fake.accepted] == [PERSON, OTHER, PERSON]


async def test_script_rejects_unknown_names():
    fake = FakeCarrier()
    with pytest.raises(ValueError):
        fake.script("vonage", "ok")
    with pytest.raises(ValueError):
        fake.script("twilio", 503)


# -- faults: taken but not answered, trickle, refuse, throttle, timed windows ------------------


@pytest.mark.parametrize(
    "provider,behaviour",
    [
        ("twilio", "hang"),
        ("twilio", Trickle(0.05)),
        ("africastalking", "hang"),
        ("africastalking", Trickle(0.05)),
    ],
    ids=["twilio-hang", "twilio-trickle", "africastalking-hang", "africastalking-trickle"],
)
async def test_a_client_that_gives_up_leaves_the_message_taken_but_not_accepted(provider, behaviour):
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script(provider, behaviour)
        sending = asyncio.ensure_future(send(provider, fake, client))
        [taken] = await fake.wait_taken(1)  # taken on arrival, while the answer is still to come
        done, _ = await asyncio.wait({sending}, timeout=0.5)  # the caller's bound on the whole send
        assert not done
        assert (taken.provider, taken.to, fake.accepted) == (provider, PERSON, [])
        await fake.stop()  # drops the held request; the SDK sees a broken or closed connection
        with pytest.raises((aiohttp.ClientError, requests.RequestException)):
            await asyncio.wait_for(sending, 5)
    assert [r.answered for r in fake.received] == [str(behaviour)]
    assert fake.accepted == []


@pytest.mark.parametrize("provider", ["twilio", "africastalking"])
async def test_trickle_delivers_the_whole_answer_a_byte_at_a_time(provider):
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script(provider, Trickle(0.001))
        sending = asyncio.ensure_future(send(provider, fake, client, read_timeout=2))
        await fake.wait_taken(1)
        assert fake.accepted == []  # taken at arrival; accepted once the last byte is out
        answer = await asyncio.wait_for(sending, 30)
    sid = answer.sid if provider == "twilio" else answer["SMSMessageData"]["Recipients"][0]["messageId"]
    assert [m.id for m in fake.taken] == [m.id for m in fake.accepted] == [sid]
    assert [r.answered for r in fake.received] == ["trickle"]


async def test_trickle_never_trips_a_per_read_timeout_so_the_send_runs_on():
    # The Africa's Talking SDK's read timeout bounds each socket read: a byte every 0.05 s keeps a
    # 0.3 s read timeout from ever firing, so only a bound on the whole send stops it.
    async with FakeCarrier() as fake:
        fake.script("africastalking", Trickle(0.05))
        sending = asyncio.ensure_future(send("africastalking", fake, None, read_timeout=0.3))
        await fake.wait_taken(1)
        done, _ = await asyncio.wait({sending}, timeout=2)  # many read timeouts' worth
        assert not done
        await fake.stop()
        with pytest.raises(requests.RequestException) as raised:
            await asyncio.wait_for(sending, 5)
    assert not isinstance(raised.value, requests.Timeout)  # it ended when the carrier let go
    assert len(fake.taken) == 1 and fake.accepted == []


@pytest.mark.parametrize("provider", ["twilio", "africastalking"])
async def test_refuse_drops_one_providers_requests_for_a_count(provider):
    other = "africastalking" if provider == "twilio" else "twilio"
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script(provider, "refuse", "refuse")
        for _ in range(2):
            with pytest.raises(DROPPED[provider]):
                await send(provider, fake, client)
        await send(other, fake, client)  # same port, other provider: unaffected
        await send(provider, fake, client)  # the count is used up
    assert [r.answered for r in fake.received] == ["refuse", "refuse", "ok", "ok"]
    assert [m.provider for m in fake.taken] == [other, provider]  # a refused request takes nothing


@pytest.mark.parametrize(
    "provider,behaviour,retry_after",
    [("twilio", Throttled(7), "7"), ("africastalking", Throttled(7), "7"), ("twilio", 429, None)],
    ids=["twilio-retry-after", "africastalking-retry-after", "twilio-no-retry-after"],
)
async def test_throttled_answers_429_with_retry_after(provider, behaviour, retry_after):
    async with FakeCarrier() as fake:
        fake.script(provider, behaviour)
        # The header as it arrives on the wire (the SDKs' exceptions do not keep response headers).
        if provider == "twilio":
            response = await asyncio.to_thread(
                requests.post,
                f"{fake.url}/2010-04-01/Accounts/{fake.twilio_sid}/Messages.json",
                data={"To": PERSON, "From": TWILIO_FROM, "Body": "hola"},
                auth=(fake.twilio_sid, fake.twilio_token),
            )
            assert (response.json()["code"], response.json()["status"]) == (20429, 429)
        else:
            response = await asyncio.to_thread(
                requests.post,
                fake.url + "/version1/messaging",
                data={"username": fake.at_username, "to": PERSON, "message": "hola"},
                headers={"apiKey": fake.at_api_key},
            )
    assert response.status_code == 429
    assert response.headers.get("Retry-After") == retry_after
    assert fake.taken == []


async def test_throttled_through_the_twilio_sdk_is_20429():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        fake.script("twilio", Throttled(3))
        with pytest.raises(TwilioRestException) as raised:
            await twilio_send(client)
    assert (raised.value.status, raised.value.code) == (429, 20429)
    assert [r.answered for r in fake.received] == ["429"]


@pytest.mark.parametrize(
    "provider,behaviour,error",
    [
        ("twilio", 500, TwilioRestException),
        ("africastalking", 500, africastalking.Service.AfricasTalkingException),
        ("twilio", Throttled(3), TwilioRestException),
        ("twilio", "refuse", aiohttp.ClientConnectionError),
        ("africastalking", "refuse", requests.ConnectionError),
    ],
    ids=["twilio-500", "africastalking-500", "twilio-429", "twilio-refuse", "africastalking-refuse"],
)
async def test_during_a_window_every_request_fails_and_the_script_waits(provider, behaviour, error):
    clock = Clock()
    async with FakeCarrier(clock=clock) as fake, twilio_client(fake) as client:
        fake.script(provider, "recipient_failed")  # queued before the window: met after it
        fake.during(provider, 60, behaviour)
        for _ in range(3):  # a count well past one request: the window, not a script entry
            with pytest.raises(error):
                await send(provider, fake, client)
        clock.advance(59)
        with pytest.raises(error):
            await send(provider, fake, client)
        clock.advance(1)  # the window is over
        assert await send_outcome(provider, fake, client) == "recipient_failed"
        assert await send_outcome(provider, fake, client) == "ok"
    assert [r.answered for r in fake.received] == [str(behaviour)] * 4 + ["recipient_failed", "ok"]


async def test_during_can_be_ended_early_and_rejects_unknown_names():
    clock = Clock()
    async with FakeCarrier(clock=clock) as fake, twilio_client(fake) as client:
        fake.during("twilio", 3600, "hang")
        fake.during("twilio", 0, "ok")
        await twilio_send(client)
    with pytest.raises(ValueError):
        fake.during("twilio", 10, 503)
    with pytest.raises(ValueError):
        fake.during("vonage", 10, "ok")


# -- Twilio's message list: what a client asks after a send it gave up on ---------------------


async def test_twilio_list_shows_every_taken_message_through_the_sdk():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        since = datetime.now(UTC) - timedelta(minutes=5)
        fake.script("twilio", "ok", "hang", Trickle(0.05), 500, "opted_out")
        first = await twilio_send(client, body="uno")
        for body in ("dos", "tres"):  # hung, then trickled: the caller gives up on both
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(twilio_send(client, body=body), 0.3)
        for _ in range(2):  # 500 and opted out: nothing taken
            with pytest.raises(TwilioRestException):
                await twilio_send(client, body="no")
        await twilio_send(client, to=OTHER, body="otra")
        listed = await client.messages.list_async(to=PERSON, date_sent_after=since)
        # The same look-up through messages.list(), the SDK's synchronous client.
        listed_sync = await asyncio.to_thread(sync_twilio_client(fake).messages.list, to=PERSON, date_sent_after=since)
    assert [m.body for m in listed] == ["tres", "dos", "uno"]  # newest first, as Twilio lists
    assert [m.sid for m in listed] == [m.id for m in reversed(fake.taken) if m.to == PERSON]
    assert [m.sid for m in listed_sync] == [m.sid for m in listed]
    assert listed[-1].sid == first.sid
    assert {(m.to, m.from_, m.status, m.direction) for m in listed} == {(PERSON, TWILIO_FROM, "sent", "outbound-api")}
    assert all(m.date_sent.tzinfo is not None and m.date_sent >= since - timedelta(seconds=1) for m in listed)
    assert [m.body for m in fake.accepted] == ["uno", "otra"]  # the hung and trickled ones never answered
    # What the SDK put on the wire: DateSent> with the time, which the API reads as a date.
    assert fake.looked_up[0] == {"To": PERSON, "DateSent>": since.strftime("%Y-%m-%dT%H:%M:%SZ")}


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"to": PERSON}, ["tarde", "mañana"]),
        ({"to": OTHER}, ["otra"]),
        ({"from_": TWILIO_FROM}, ["tarde", "otra", "mañana"]),
        ({"from_": "+15555550199"}, []),
        ({"date_sent": datetime(2026, 3, 1, tzinfo=UTC)}, ["otra", "mañana"]),
        ({"date_sent_after": datetime(2026, 3, 2, tzinfo=UTC)}, ["tarde"]),
        ({"date_sent_before": datetime(2026, 3, 1, tzinfo=UTC)}, ["otra", "mañana"]),
        ({"date_sent_before": datetime(2026, 2, 28, tzinfo=UTC)}, []),
        ({"to": PERSON, "date_sent_after": datetime(2026, 3, 1, 23, 59, tzinfo=UTC)}, ["tarde", "mañana"]),
        ({"to": PERSON, "date_sent_after": "2026-03-02"}, ["tarde"]),
    ],
    ids=[
        "to",
        "to-other",
        "from",
        "from-unknown",
        "date-sent-that-day",
        "date-sent-after-a-day",
        "date-sent-before-a-day-includes-it",
        "date-sent-before-earlier",
        "time-of-day-is-dropped",
        "date-as-text",
    ],
)
async def test_twilio_list_filters(query, expected):
    clock = Clock()  # 2026-03-01 12:00 UTC
    async with FakeCarrier(clock=clock) as fake, twilio_client(fake) as client:
        await twilio_send(client, body="mañana")
        clock.advance(60)
        await twilio_send(client, to=OTHER, body="otra")
        clock.advance(24 * 3600)  # 2026-03-02
        await twilio_send(client, body="tarde")
        listed = await client.messages.list_async(**query)
    assert [m.body for m in listed] == expected


async def test_twilio_list_pages_with_the_real_page_shape():
    async with FakeCarrier() as fake, twilio_client(fake) as client:
        for n in range(5):
            await twilio_send(client, body=f"n{n}")
        listed = await client.messages.list_async(to=PERSON, page_size=2)
        page = await asyncio.to_thread(
            requests.get,
            f"{fake.url}/2010-04-01/Accounts/{fake.twilio_sid}/Messages.json",
            params={"To": PERSON, "PageSize": 2},
            auth=(fake.twilio_sid, fake.twilio_token),
        )
    assert [m.body for m in listed] == ["n4", "n3", "n2", "n1", "n0"]
    assert [q.get("Page") for q in fake.looked_up[:3]] == [None, "1", "2"]  # the SDK followed next_page_uri
    assert "PageToken" in fake.looked_up[1]
    assert (page.status_code, page.headers["Content-Type"]) == (200, "application/json")
    payload = page.json()
    assert set(payload) == {
        "end", "first_page_uri", "messages", "next_page_uri", "page", "page_size", "previous_page_uri", "start", "uri"
    }  # fmt: skip
    assert (payload["page"], payload["page_size"], payload["start"], payload["end"]) == (0, 2, 0, 1)
    base = f"/2010-04-01/Accounts/{fake.twilio_sid}/Messages.json?To=%2B15555550142&PageSize=2"
    assert (payload["uri"], payload["first_page_uri"]) == (base + "&Page=0", base + "&Page=0")
    assert payload["next_page_uri"].startswith(base + "&Page=1&PageToken=PA")
    assert payload["previous_page_uri"] is None
    message = payload["messages"][0]
    assert (message["sid"], message["body"]) == (listed[0].sid, "n4")
    assert (message["to"], message["from"], message["status"]) == (PERSON, TWILIO_FROM, "sent")
    assert re.fullmatch(RFC2822, message["date_sent"]) and re.fullmatch(RFC2822, message["date_created"])


async def test_twilio_list_a_message_still_queued_has_no_date_sent():
    clock = Clock()
    async with FakeCarrier(clock=clock, twilio_queue_seconds=30) as fake, twilio_client(fake) as client:
        sent = await twilio_send(client)
        since = datetime.fromtimestamp(clock(), UTC) - timedelta(minutes=1)
        assert await client.messages.list_async(to=PERSON, date_sent_after=since) == []
        [queued] = await client.messages.list_async(to=PERSON)
        assert (queued.sid, queued.status, queued.date_sent) == (sent.sid, "queued", None)
        clock.advance(30)
        [listed] = await client.messages.list_async(to=PERSON, date_sent_after=since)
    assert (listed.status, listed.date_sent) == ("sent", datetime.fromtimestamp(NOON + 30, UTC))


@pytest.mark.parametrize(
    "params,token,status,code",
    [
        ({"DateSent>": "yesterday"}, None, 400, 20001),
        ({"PageSize": "1001"}, None, 400, 20001),
        ({"PageToken": "PAnot-a-sid"}, None, 400, 20001),
        ({}, "wrong", 401, 20003),
    ],
    ids=["bad-date", "page-too-big", "bad-page-token", "wrong-token"],
)
async def test_twilio_list_refuses_bad_look_ups(params, token, status, code):
    async with FakeCarrier() as fake:
        response = await asyncio.to_thread(
            requests.get,
            f"{fake.url}/2010-04-01/Accounts/{fake.twilio_sid}/Messages.json",
            params=params,
            auth=(fake.twilio_sid, token or fake.twilio_token),
        )
    assert (response.status_code, response.json()["code"]) == (status, code)
