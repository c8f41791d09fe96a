"""A fake carrier: a real HTTP server on loopback that speaks Africa's Talking's and Twilio's send APIs.

The official SDKs talk to it through their base-URL settings, so code under test is exercised over
real HTTP instead of mocks. Each provider answers from a FIFO script of behaviours ("ok" once the
script runs out) or, for a while, from a timed fault (during()); it records every request it receives
and every message it takes, and can stop listening and listen again.

Taken, accepted, received:
  received  every request that reached a send handler, with the behaviour it met;
  taken     every message the carrier took and gave an id, noted the moment the request arrived, even
            when the answer never reaches the client (hang, trickle, a dropped connection): what the
            carrier's own records, and Twilio's message list, hold;
  accepted  the taken messages whose answer the fake wrote in full: what a client could have learnt.

Twilio's message list (GET .../Messages.json) answers from the taken messages, so a client that gave
up on a send can ask whether it went. Africa's Talking has no such look-up for sent messages.

Wire formats:
  Africa's Talking  https://developers.africastalking.com/docs/sms/sending/bulk
  Twilio            https://www.twilio.com/docs/messaging/api/message-resource
                    https://www.twilio.com/docs/usage/twilios-response (error JSON)
  Twilio list       https://github.com/twilio/twilio-oai spec/yaml/twilio_api_v2010.yaml (ListMessageResponse)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

AFRICASTALKING = "africastalking"
TWILIO = "twilio"
PROVIDERS = (AFRICASTALKING, TWILIO)

OK = "ok"
RECIPIENT_FAILED = "recipient_failed"
OPTED_OUT = "opted_out"
HANG = "hang"  # takes the message and never answers
TRICKLE = "trickle"  # takes the message and answers at Trickle().seconds_per_byte
REFUSE = "refuse"  # drops the connection without an answer; takes nothing
SERVER_ERROR = 500
THROTTLED = 429  # without Retry-After; Throttled(n) sends one
BEHAVIOURS = frozenset({OK, RECIPIENT_FAILED, OPTED_OUT, HANG, TRICKLE, REFUSE, SERVER_ERROR, THROTTLED})

# Outcomes recorded for requests refused before the script is consulted (they consume no entry).
UNAUTHORIZED = "unauthorized"
INVALID = "invalid"
NOT_FOUND = "not_found"

# Africa's Talking per-recipient statusCode → status word, inside a 2xx answer.
AT_STATUS = {
    100: "Processed",
    101: "Success",  # documented as "Sent"; the live API writes "Success" in the status field
    102: "Queued",
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
AT_RECIPIENT_CODE = {OK: 101, RECIPIENT_FAILED: 403, OPTED_OUT: 406}
AT_COST_PER_PART = 0.8  # KES, what a Kenyan number costs per SMS part
AT_PATH = "/version1/messaging"

# Twilio error code → (HTTP status, message); answered as {"code", "message", "more_info", "status"}.
TWILIO_ERRORS = {
    20001: (400, "Invalid {parameter} value."),  # as the API words a bad DateSent (twilio/twilio-cli#99)
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
}
TWILIO_BEHAVIOUR_ERROR = {SERVER_ERROR: 20500, THROTTLED: 20429, RECIPIENT_FAILED: 21211, OPTED_OUT: 21610}
TWILIO_API_VERSION = "2010-04-01"
TWILIO_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
TWILIO_PAGE_SIZE = (50, 1000)  # default and maximum PageSize of a list
# DateSent, DateSent< and DateSent> (sent as "DateSent>=2024-05-01" on the wire) take a GMT date; the SDK
# sends "YYYY-MM-DDThh:mm:ssZ". The time is dropped: Twilio documents only dates (twilio/twilio-oai#21).
TWILIO_DATE_FILTERS = {
    "DateSent": lambda day, bound: day == bound,
    "DateSent<": lambda day, bound: day <= bound,
    "DateSent>": lambda day, bound: day >= bound,
}
TWILIO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z?)?$")

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# GSM 03.38: the basic set costs one septet a character, the extension table two (escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
# (single-part limit, per-part limit once concatenated) in units of the encoding.
GSM7_LIMITS = (160, 153)
UCS2_LIMITS = (70, 67)

# Long enough for a normal answer to finish, short so that stop() never lingers.
SHUTDOWN_TIMEOUT = 1.0


@dataclass(frozen=True)
class Trickle:
    """Takes the message, sends the headers, then the body one byte every seconds_per_byte."""

    seconds_per_byte: float = 0.2

    def __str__(self) -> str:
        return TRICKLE


@dataclass(frozen=True)
class Throttled:
    """HTTP 429 with Retry-After: retry_after (seconds); Twilio's body carries code 20429."""

    retry_after: int = 1

    def __str__(self) -> str:
        return str(THROTTLED)


Behaviour = str | int | Trickle | Throttled


@dataclass(frozen=True)
class Received:
    """One request that reached a send handler, and what the fake answered."""

    provider: str
    to: str
    body: str
    sender: str | None
    form: dict
    answered: str
    at: float  # on the fake's clock, when the request arrived


@dataclass(frozen=True)
class Accepted:
    """One message the fake took and gave an id (one per recipient for Africa's Talking)."""

    provider: str
    to: str
    body: str
    sender: str | None
    form: dict
    id: str
    taken_at: float  # on the fake's clock, when the request arrived


@dataclass(frozen=True)
class _Window:
    """A timed fault: every request until `until` (fake's clock) meets `behaviour`."""

    behaviour: Behaviour
    until: float


def segments(body: str) -> int:
    """How many SMS parts the body takes, as a carrier counts them."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        units = len(body) + sum(ch in GSM7_EXTENSION for ch in body)
        single, part = GSM7_LIMITS
    else:
        units = len(body.encode("utf-16-le")) // 2  # UCS-2 counts UTF-16 code units
        single, part = UCS2_LIMITS
    return 1 if units <= single else math.ceil(units / part)


def json_response(payload: Any, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """JSON with Content-Type exactly application/json: the Africa's Talking SDK parses nothing else."""
    # A bytes body keeps aiohttp from appending "; charset=utf-8" (which text= would add).
    return web.Response(
        body=json.dumps(payload).encode("utf-8"), status=status, content_type="application/json", headers=headers
    )


def twilio_error(code: int, headers: Mapping[str, str] | None = None, **details: str) -> web.Response:
    """Twilio's error JSON for one of TWILIO_ERRORS."""
    status, message = TWILIO_ERRORS[code]
    payload = {
        "code": code,
        "message": message.format(**details),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'}
    return json_response(payload, status, headers)


def retry_after(behaviour: Behaviour) -> dict[str, str] | None:
    """The Retry-After header a throttled answer carries, if any."""
    return {"Retry-After": str(behaviour.retry_after)} if isinstance(behaviour, Throttled) else None


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(login, password) from an HTTP Basic Authorization header; None when absent or malformed."""
    # By hand rather than aiohttp.BasicAuth, which aiohttp 3.14 deprecates.
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, colon, password = base64.b64decode(encoded, validate=True).decode("latin1").partition(":")
    except binascii.Error:
        return None
    return (login, password) if colon else None


def at_recipient(number: str, code: int, parts: int) -> dict:
    """One entry of SMSMessageData.Recipients; failures carry cost "0" and messageId "None" as the live API does."""
    accepted = code in (100, 101, 102)
    return {
        "statusCode": code,
        "number": number,
        "cost": f"KES {AT_COST_PER_PART * parts:.4f}" if accepted else "0",
        "status": AT_STATUS[code],
        "messageParts": parts if accepted else 0,
        "messageId": f"ATXid_{secrets.token_hex(16)}" if accepted else "None",
    }


def at_summary(recipients: list[dict]) -> str:
    """The top-level Message, e.g. "Sent to 1/1 Total Cost: KES 0.8000"."""
    sent = [r for r in recipients if r["messageId"] != "None"]
    total = sum(float(r["cost"].split()[1]) for r in sent)
    cost = f"KES {total:.4f}" if sent else "0"
    return f"Sent to {len(sent)}/{len(recipients)} Total Cost: {cost}"


def utc(seconds: float) -> datetime:
    """A clock reading (seconds since the epoch) as a UTC datetime, to the second as Twilio keeps it."""
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=0)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's timestamp format, e.g. "Mon, 16 Aug 2010 03:45:01 +0000"."""
    return format_datetime(moment) if moment else None


def check_behaviours(provider: str, behaviours: tuple) -> None:
    """Raises ValueError for an unknown provider or behaviour."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
    unknown = [b for b in behaviours if not isinstance(b, Trickle | Throttled) and b not in BEHAVIOURS]
    if unknown:
        raise ValueError(f"unknown behaviours {unknown!r}; expected some of {sorted(map(str, BEHAVIOURS))}")


def taking(behaviour: Behaviour) -> bool:
    """Whether the behaviour takes the message (answered or not) rather than refusing it."""
    return behaviour in (OK, HANG, TRICKLE) or isinstance(behaviour, Trickle)


class FakeCarrier:
    """Africa's Talking and Twilio on one loopback port, scripted per provider, recording everything."""

    def __init__(
        self,
        at_username: str = "sandbox-user",
        at_api_key: str = "at-test-key",
        twilio_sid: str = "AC" + "0123456789abcdef" * 2,
        twilio_token: str = "test-token",
        clock: Callable[[], float] = time.time,
        twilio_queue_seconds: float = 0.0,
    ):
        self.at_username = at_username
        self.at_api_key = at_api_key
        self.twilio_sid = twilio_sid
        self.twilio_token = twilio_token
        # Seconds since the epoch: stamps taken messages and times during() windows. A test may pass
        # (or later set) the clock its app uses, so moving that clock moves the carrier's too.
        self.clock = clock
        # How long a taken Twilio message stays queued (date_sent null, so outside every DateSent
        # filter) before the list shows it sent. 0: sent the moment it is taken.
        self.twilio_queue_seconds = twilio_queue_seconds
        self.received: list[Received] = []
        self.taken: list[Accepted] = []
        self.accepted: list[Accepted] = []
        self.looked_up: list[dict[str, str]] = []  # query of every Twilio message list request
        # script() and the waiters are touched from other threads in in_thread() mode.
        self._lock = threading.Lock()
        self._scripts: dict[str, deque] = {provider: deque() for provider in PROVIDERS}
        self._windows: dict[str, _Window] = {}
        self._waiters: list[tuple[list[Accepted], int, asyncio.Future]] = []
        self._held: set[asyncio.Task] = set()  # hung and trickling requests, dropped by stop/refuse
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port: int | None = None
        self._thread_id: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Starts listening on a loopback port (a free one by default)."""
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        app = web.Application()
        app.router.add_post(AT_PATH, self._africastalking)
        app.router.add_post(TWILIO_PATH, self._twilio)
        app.router.add_get(TWILIO_PATH, self._twilio_list)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        await self._listen(port)

    async def stop(self) -> None:
        """Drops every connection (hung ones too) and stops; safe to call twice."""
        if self._runner is None:
            return
        await self._on_own_loop(self._stop)

    async def __aenter__(self) -> FakeCarrier:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls, **kwargs) -> Iterator[FakeCarrier]:
        """Runs a carrier on its own loop in a background thread, for synchronous code and benchmarks."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-carrier", daemon=True)
        thread.start()
        fake = cls(**kwargs)
        try:
            asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
            yield fake
        finally:
            asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    def call_blocking(self, coroutine_function: Callable[..., Awaitable], *args, timeout: float | None = 30) -> Any:
        """From synchronous code in another thread, runs e.g. refuse, accept or wait_for on the fake's loop."""
        if self._loop is None:
            raise RuntimeError("the fake carrier is not running")
        if threading.get_ident() == self._thread_id:
            raise RuntimeError("call_blocking from the fake's own loop would deadlock; await instead")
        return asyncio.run_coroutine_threadsafe(coroutine_function(*args), self._loop).result(timeout)

    @property
    def url(self) -> str:
        """Base URL for both SDKs, e.g. http://127.0.0.1:PORT."""
        if self._port is None:
            raise RuntimeError("the fake carrier is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- control -----------------------------------------------------------------------------

    def script(self, provider: str, *behaviours: Behaviour) -> None:
        """Queues behaviours for the provider's next requests, one consumed per request."""
        check_behaviours(provider, behaviours)
        with self._lock:
            self._scripts[provider].extend(behaviours)

    def during(self, provider: str, seconds: float, behaviour: Behaviour) -> None:
        """Every request to the provider in the next seconds (fake's clock) meets behaviour; the script waits.

        Replaces the provider's earlier window; during(provider, 0, "ok") ends it.
        """
        check_behaviours(provider, (behaviour,))
        with self._lock:
            self._windows[provider] = _Window(behaviour, self.clock() + seconds)

    async def refuse(self) -> None:
        """Stops listening and drops open connections (hung ones too), so every connect is refused.

        Both providers share the port: script(provider, "refuse") drops one provider's requests instead.
        """
        await self._on_own_loop(self._refuse)

    async def accept(self) -> None:
        """Listens again on the same port after refuse()."""
        await self._on_own_loop(self._accept)

    def accepted_to(self, number: str) -> list[Accepted]:
        """The accepted messages addressed to number, in arrival order."""
        return [message for message in self.accepted if message.to == number]

    async def wait_for(self, n: int, timeout: float = 5) -> list[Accepted]:
        """Waits until at least n messages were accepted; works from any loop or thread."""
        return await self._wait(self.accepted, "accepted", n, timeout)

    async def wait_taken(self, n: int, timeout: float = 5) -> list[Accepted]:
        """Waits until at least n messages were taken (answered or not); works from any loop or thread."""
        return await self._wait(self.taken, "took", n, timeout)

    async def _wait(self, messages: list[Accepted], verb: str, n: int, timeout: float) -> list[Accepted]:
        future = asyncio.get_running_loop().create_future()
        with self._lock:
            if len(messages) >= n:
                return list(messages)
            self._waiters.append((messages, n, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"fake carrier {verb} {len(messages)} of {n} messages within {timeout}s; "
                f"received: {[(r.provider, r.to, r.answered) for r in self.received]}"
            ) from None
        finally:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[2] is not future]
        return list(messages)

    # -- server plumbing ---------------------------------------------------------------------

    async def _on_own_loop(self, coroutine_function: Callable[[], Awaitable]) -> Any:
        """Runs a server operation on the fake's loop, whichever loop the caller is on."""
        if self._loop is None:
            raise RuntimeError("the fake carrier is not started")
        if asyncio.get_running_loop() is self._loop:
            return await coroutine_function()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine_function(), self._loop))

    async def _listen(self, port: int) -> None:
        """Opens the listening socket (port 0 picks a free one, remembered for accept())."""
        self._site = web.TCPSite(self._runner, "127.0.0.1", port)
        await self._site.start()
        self._port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        """stop(), on the fake's loop."""
        if self._runner is None:
            return
        self._release_held()
        runner, self._runner, self._site = self._runner, None, None
        await runner.cleanup()

    async def _refuse(self) -> None:
        """refuse(), on the fake's loop."""
        if self._site is None:
            return
        await self._site.stop()
        self._site = None
        # Keep-alive clients would otherwise keep reaching a carrier that is "down".
        self._release_held()
        self._runner.server.pre_shutdown()
        await self._runner.server.shutdown(SHUTDOWN_TIMEOUT)

    async def _accept(self) -> None:
        """accept(), on the fake's loop."""
        if self._site is None:
            await self._listen(self._port)

    def _release_held(self) -> None:
        """Drops hung and trickling requests mid-answer (cancelling the handler closes its connection)."""
        for task in list(self._held):
            task.cancel()

    @contextlib.contextmanager
    def _holding(self) -> Iterator[None]:
        """Marks the current request as one stop() and refuse() must cut short."""
        task = asyncio.current_task()
        self._held.add(task)
        try:
            yield
        finally:
            self._held.discard(task)

    async def _answer(
        self, request: web.Request, response: web.Response, behaviour: Behaviour, taken: list[Accepted]
    ) -> web.StreamResponse:
        """Answers a send whose messages are already taken: at once, a byte at a time, or never."""
        if behaviour == HANG:
            with self._holding():
                await asyncio.get_running_loop().create_future()
            raise AssertionError("unreachable: a hung request only ends by cancellation")
        if behaviour == TRICKLE or isinstance(behaviour, Trickle):
            per_byte = behaviour.seconds_per_byte if isinstance(behaviour, Trickle) else Trickle().seconds_per_byte
            with self._holding():
                stream, complete = await self._trickle(request, response, per_byte)
            if not complete:  # the client gave up mid-answer: taken, never accepted
                return stream
        else:
            stream = response
        for message in taken:
            self._accept_message(message)
        return stream

    @staticmethod
    async def _trickle(
        request: web.Request, response: web.Response, per_byte: float
    ) -> tuple[web.StreamResponse, bool]:
        """Sends the response's headers at once, then its body one byte every per_byte seconds.

        Returns the stream and whether the whole body went out (False once the client left).
        """
        stream = web.StreamResponse(status=response.status, headers=response.headers)
        stream.content_length = len(response.body)
        try:
            await stream.prepare(request)
            for offset in range(len(response.body)):
                await asyncio.sleep(per_byte)
                await stream.write(response.body[offset : offset + 1])
            await stream.write_eof()
        except ConnectionError:
            return stream, False
        return stream, True

    @staticmethod
    async def _drop(request: web.Request) -> web.Response:
        """Closes the connection without an answer, as a carrier's load balancer dropping it would."""
        request.transport.abort()
        # Cancelled, the handler ends the way a hung request released by stop() does: no answer.
        asyncio.current_task().cancel()
        await asyncio.sleep(0)
        raise AssertionError("unreachable: the handler was cancelled")

    def _next(self, provider: str) -> Behaviour:
        """The provider's behaviour for this request: its open window, else its script, else "ok"."""
        with self._lock:
            window = self._windows.get(provider)
            if window is not None and self.clock() < window.until:
                return window.behaviour
            script = self._scripts[provider]
            return script.popleft() if script else OK

    def _record(self, provider: str, to: str, body: str, sender: str | None, form: dict, answered: str) -> None:
        """Notes a request at arrival, before any answer (so hung requests are counted too)."""
        self.received.append(Received(provider, to, body, sender, form, answered, self.clock()))

    def _take(self, message: Accepted) -> Accepted:
        """Records a message the carrier took, at arrival, before any answer."""
        self._add(self.taken, message)
        return message

    def _accept_message(self, message: Accepted) -> None:
        """Records a taken message whose answer the client got."""
        self._add(self.accepted, message)

    def _add(self, messages: list[Accepted], message: Accepted) -> None:
        """Appends to taken or accepted and wakes the waiters it satisfies (on whatever loop they wait)."""
        with self._lock:
            messages.append(message)
            ready = [w for w in self._waiters if w[0] is messages and w[1] <= len(messages)]
            self._waiters = [w for w in self._waiters if w not in ready]
        for _, _, future in ready:
            future.get_loop().call_soon_threadsafe(_resolve, future)

    # -- Africa's Talking --------------------------------------------------------------------

    async def _africastalking(self, request: web.Request) -> web.StreamResponse:
        """POST /version1/messaging: form username, to (comma-joined), message, [from], header apiKey."""
        form = dict(await request.post())
        to, body, sender = form.get("to", ""), form.get("message", ""), form.get("from")
        record = functools.partial(self._record, AFRICASTALKING, to, body, sender, form)
        if request.headers.get("apiKey") != self.at_api_key or form.get("username") != self.at_username:
            record(UNAUTHORIZED)
            return web.Response(status=401, text="The supplied authentication is invalid")
        if not to or not body:
            record(INVALID)
            return web.Response(status=400, text="Request is missing required form field 'to' or 'message'")
        behaviour = self._next(AFRICASTALKING)
        record(str(behaviour))
        if behaviour == REFUSE:
            return await self._drop(request)
        if behaviour == SERVER_ERROR:
            return web.Response(status=500, text="Internal Server Error")
        if behaviour == THROTTLED or isinstance(behaviour, Throttled):
            return web.Response(status=429, text="Too Many Requests", headers=retry_after(behaviour))
        numbers = [n.strip() for n in to.split(",") if n.strip()]
        response, taken = self._at_take(form, numbers, OK if taking(behaviour) else behaviour)
        return await self._answer(request, response, behaviour, taken)

    def _at_take(self, form: dict, numbers: list[str], outcome: str) -> tuple[web.Response, list[Accepted]]:
        """HTTP 201 with one Recipient per number, and the messages taken; per-number failures live inside."""
        body, sender, parts = form["message"], form.get("from"), segments(form["message"])
        recipients, taken = [], []
        for number in numbers:
            code = AT_RECIPIENT_CODE[outcome] if E164.match(number) else 403
            recipient = at_recipient(number, code, parts)
            recipients.append(recipient)
            if recipient["messageId"] != "None":
                message = Accepted(AFRICASTALKING, number, body, sender, form, recipient["messageId"], self.clock())
                taken.append(self._take(message))
        payload = {"SMSMessageData": {"Message": at_summary(recipients), "Recipients": recipients}}
        return json_response(payload, 201), taken

    # -- Twilio ------------------------------------------------------------------------------

    async def _twilio(self, request: web.Request) -> web.StreamResponse:
        """POST /2010-04-01/Accounts/{AccountSid}/Messages.json: Basic auth, form To, From|MessagingServiceSid, Body."""
        form = dict(await request.post())
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid")
        record = functools.partial(self._record, TWILIO, to, body, sender, form)
        if not self._twilio_authorized(request):
            record(UNAUTHORIZED)
            return twilio_error(20003)
        if request.match_info["account_sid"] != self.twilio_sid:
            record(NOT_FOUND)
            return twilio_error(20404)
        invalid = self._twilio_invalid(form)
        if invalid:
            record(INVALID)
            return twilio_error(invalid, to=to)
        behaviour = self._next(TWILIO)
        record(str(behaviour))
        if behaviour == REFUSE:
            return await self._drop(request)
        if isinstance(behaviour, Throttled):
            return twilio_error(20429, headers=retry_after(behaviour))
        if behaviour in TWILIO_BEHAVIOUR_ERROR:
            return twilio_error(TWILIO_BEHAVIOUR_ERROR[behaviour], to=to)
        sid = "SM" + secrets.token_hex(16)
        message = self._take(Accepted(TWILIO, to, body, sender, form, sid, self.clock()))
        response = json_response(self._twilio_resource(message, listed=False), 201)
        return await self._answer(request, response, behaviour, [message])

    def _twilio_authorized(self, request: web.Request) -> bool:
        """HTTP Basic with AccountSid:AuthToken."""
        return basic_credentials(request.headers.get("Authorization", "")) == (self.twilio_sid, self.twilio_token)

    @staticmethod
    def _twilio_invalid(form: dict) -> int | None:
        """Twilio's error code for a missing or malformed parameter, if any."""
        if not form.get("To"):
            return 21604
        if not E164.match(form["To"]):
            return 21211
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 21603
        if not form.get("Body"):
            return 21602
        return None

    def _twilio_sent_at(self, message: Accepted) -> datetime | None:
        """When Twilio sent a taken message on to the network; None while it is still queued."""
        sent = message.taken_at + self.twilio_queue_seconds
        return utc(sent) if self.clock() >= sent else None

    def _twilio_resource(self, message: Accepted, listed: bool) -> dict:
        """The Message resource: as create answers it (queued), or as the list shows it later."""
        form, sid = message.form, message.id
        uri = f"/{TWILIO_API_VERSION}/Accounts/{self.twilio_sid}/Messages/{sid}"
        created = utc(message.taken_at)
        sent = self._twilio_sent_at(message) if listed else None
        # Through a Messaging Service without From, Twilio has not picked a sender yet.
        queued = "queued" if form.get("From") else "accepted"
        return {
            "account_sid": self.twilio_sid,
            "api_version": TWILIO_API_VERSION,
            "body": form["Body"],
            "date_created": rfc2822(created),
            "date_sent": rfc2822(sent),
            "date_updated": rfc2822(sent or created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(segments(form["Body"])) if form.get("From") else "0",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "sent" if sent else queued,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
        }

    async def _twilio_list(self, request: web.Request) -> web.Response:
        """GET .../Messages.json: the taken messages, newest first, filtered by To, From and DateSent.

        Query: To, From, DateSent / DateSent< / DateSent> (a GMT date; see TWILIO_DATE_FILTERS), PageSize
        (1-1000, default 50), Page (echoed), PageToken (the fake's cursor: "PA" + the last sid of the
        previous page). Look-ups are not scripted: they always answer.
        """
        query = {key: request.query[key] for key in request.query}
        self.looked_up.append(query)
        if not self._twilio_authorized(request):
            return twilio_error(20003)
        if request.match_info["account_sid"] != self.twilio_sid:
            return twilio_error(20404)
        bounds = {}
        for name in TWILIO_DATE_FILTERS.keys() & query.keys():
            matched = TWILIO_DATE.match(query[name])
            if not matched:
                return twilio_error(20001, parameter=name)
            bounds[name] = date.fromisoformat(matched[1])
        try:
            page_size = int(query.get("PageSize", TWILIO_PAGE_SIZE[0]))
            page = int(query.get("Page", 0))
        except ValueError:
            return twilio_error(20001, parameter="PageSize or Page")
        if not 1 <= page_size <= TWILIO_PAGE_SIZE[1] or page < 0:
            return twilio_error(20001, parameter="PageSize or Page")

        def wanted(message: Accepted) -> bool:
            if message.provider != TWILIO:
                return False
            if "To" in query and message.to != query["To"]:
                return False
            if "From" in query and message.form.get("From") != query["From"]:
                return False
            if not bounds:
                return True
            sent = self._twilio_sent_at(message)  # a queued message has no date_sent to match
            return sent is not None and all(TWILIO_DATE_FILTERS[n](sent.date(), b) for n, b in bounds.items())

        matching = [m for m in reversed(self.taken) if wanted(m)]
        start = 0
        if "PageToken" in query:
            sids = [m.id for m in matching]
            token = query["PageToken"].removeprefix("PA")
            if token not in sids:
                return twilio_error(20001, parameter="PageToken")
            start = sids.index(token) + 1
        listed = matching[start : start + page_size]
        filters = {k: v for k, v in query.items() if k not in ("PageSize", "Page", "PageToken")}

        def page_uri(number: int, first: int) -> str:
            cursor = {"PageToken": "PA" + matching[first - 1].id} if first > 0 else {}
            params = {**filters, "PageSize": page_size, "Page": number, **cursor}
            return f"/{TWILIO_API_VERSION}/Accounts/{self.twilio_sid}/Messages.json?{urlencode(params)}"

        more = start + page_size < len(matching)
        payload = {
            "end": start + max(len(listed) - 1, 0),
            "first_page_uri": page_uri(0, 0),
            "messages": [self._twilio_resource(m, listed=True) for m in listed],
            "next_page_uri": page_uri(page + 1, start + page_size) if more else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1, max(start - page_size, 0)) if start > 0 else None,
            "start": start,
            "uri": page_uri(page, start),
        }
        return json_response(payload, 200)


def _resolve(future: asyncio.Future) -> None:
    """Completes a waiter unless it already timed out."""
    if not future.done():
        future.set_result(None)


async def _serve_forever(port: int) -> None:
    fake = FakeCarrier()
    await fake.start(port)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


if __name__ == "__main__":
    # `python -m tests.fake_carrier --port P`: the fake in its own process, for bench/.
    import argparse

    parser = argparse.ArgumentParser(description="Fake Africa's Talking and Twilio send APIs on loopback")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(_serve_forever(parser.parse_args().port))
