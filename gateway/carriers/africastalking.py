"""Africa's Talking: USSD and SMS webhooks in, SMS out through the official SDK.

Webhook fields: https://developers.africastalking.com/docs/ussd/overview and /docs/sms/notifications.
Africa's Talking does not sign callbacks, so a shared token in the URL (?token=) guards them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import requests
import urllib3
from africastalking.SMS import SMSService
from aiohttp import web

from gateway import keys
from gateway.carriers import fields, webhook
from gateway.carriers.base import Carrier, Failure, SendError, Sent, retry_after_seconds
from gateway.messages import BadRequest, Channel, DeliveryStatus, Inbound, StatusReport, UssdSessionEnded
from gateway.outbox.policy import OutboxPolicy
from gateway.phones import to_e164
from store.db import DatabaseUnavailable

NAME = "africastalking"

log = logging.getLogger("lifeline.africastalking")

# Delivery report statuses → internal status.
DELIVERY_STATUS = {
    "Sent": DeliveryStatus.SENT,  # left Africa's Talking for the network
    "Submitted": DeliveryStatus.SENT,  # accepted by the network operator
    "Buffered": DeliveryStatus.SENT,  # queued by the operator (handset off or out of range)
    "Success": DeliveryStatus.DELIVERED,
    "Rejected": DeliveryStatus.FAILED,  # refused by the operator (blacklist, credit, ...)
    "Failed": DeliveryStatus.UNDELIVERED,
    "Expired": DeliveryStatus.UNDELIVERED,
}

USSD_END_STATUS = {"Success": "completed", "Incomplete": "incomplete", "Failed": "failed"}

# Per-recipient statusCode inside a 2xx send answer → what to do.
# https://developers.africastalking.com/docs/sms/sending/bulk
ACCEPTED_CODES = {100, 101, 102}  # Processed, Sent, Queued
RECIPIENT_CODES = {403, 404, 406, 409}  # InvalidPhoneNumber, UnsupportedNumberType, UserInBlacklist, DoNotDisturb
PROVIDER_CODES = {401, 402, 405}  # RiskHold, InvalidSenderId, InsufficientBalance
# Everything else (407 CouldNotRoute, 500 InternalServerError, 501 GatewayError, 502 RejectedByGateway) is retried.

MAX_USSD_TEXT = 2000
MAX_SMS_TEXT = 10_000


def verify(query: Mapping[str, str], callback_token: str | None) -> None:
    """Refuses a callback without the configured ?token= (when one is configured)."""
    if callback_token is None:
        return
    given = query.get("token", "")
    if not hmac.compare_digest(given.encode("utf-8"), callback_token.encode("utf-8")):
        raise web.HTTPForbidden(text="bad or missing token\n")


def parse_ussd(form: Mapping[str, str]) -> Inbound:
    """One USSD hop: text is empty on the first hop, then every input so far joined by '*'."""
    session_id = fields.required(form, "sessionId")
    text = fields.text(form, "text", MAX_USSD_TEXT).strip()
    hop = len(text.split("*")) if text else 0
    return Inbound(
        carrier=NAME,
        channel=Channel.USSD,
        # Every new hop adds one input (even an empty one), so the count names the hop; a retried
        # hop repeats it. Nothing the person typed goes into the id.
        external_id=f"{session_id}:{hop}",
        phone=to_e164(fields.required(form, "phoneNumber", 32)),
        text=text,
        service=fields.required(form, "serviceCode", 32),
        session_id=session_id,
    )


def parse_ussd_end(form: Mapping[str, str]) -> UssdSessionEnded:
    """The end-of-session notification."""
    status = fields.required(form, "status", 32)
    if status not in USSD_END_STATUS:
        raise BadRequest("unknown USSD session status")
    return UssdSessionEnded(
        carrier=NAME,
        session_id=fields.required(form, "sessionId"),
        status=USSD_END_STATUS[status],
        hops=fields.integer(form, "hopsCount"),
        duration_ms=fields.integer(form, "durationInMillis"),
        error=fields.optional(form, "errorMessage", 255),
    )


def parse_inbound(form: Mapping[str, str]) -> Inbound:
    """An incoming SMS."""
    return Inbound(
        carrier=NAME,
        channel=Channel.SMS,
        external_id=fields.required(form, "id"),
        phone=to_e164(fields.required(form, "from", 32)),
        text=fields.text(form, "text", MAX_SMS_TEXT).strip(),
        service=fields.required(form, "to", 32),
    )


def parse_status(form: Mapping[str, str]) -> StatusReport:
    """A delivery report."""
    status = fields.required(form, "status", 32)
    if status not in DELIVERY_STATUS:
        raise BadRequest("unknown delivery status")
    return StatusReport(
        carrier=NAME,
        provider_message_id=fields.required(form, "id"),
        status=DELIVERY_STATUS[status],
        error=fields.optional(form, "failureReason", 255),
    )


def format_ussd(text: str, ends: bool) -> web.Response:
    """The screen: 'CON ...' waits for input, 'END ...' closes the session."""
    return web.Response(text=("END " if ends else "CON ") + text, content_type="text/plain")


# Connecting may take this long (a little over a multiple of TCP's 3 s retransmission window, as requests
# advises); the thread may then outlive the deadline by as much, still far inside the lease.
CONNECT_SECONDS = 3.05
# An answer names one recipient in a few hundred bytes; more is not an answer to read.
MAX_ANSWER_BYTES = 64 * 1024
# The event loop stops waiting this long after the deadline the thread keeps itself (the thread's own verdict,
# which knows whether the answer came, should win; this only covers what no socket timeout bounds, e.g. DNS).
BACKSTOP_SECONDS = 0.25


class _SMSService(SMSService):
    """The SDK's SMS service pointed at a configurable host, over a keep-alive session per thread, with an
    overall deadline per request.

    The SDK has no host setting and calls requests.post afresh each time; it builds every URL
    from _baseUrl, and routes each call through _make_request, so both are adapted here. Our own
    _make_request also keeps the HTTP status and Retry-After, which the SDK's exception drops, and bounds
    the whole request: requests' timeout bounds each socket read, so a carrier answering a byte a second
    would otherwise hold the send (and its connection) for minutes.
    """

    def __init__(self, username: str, api_key: str, api_url: str):
        super().__init__(username, api_key)
        self._baseUrl = api_url + "/version1"
        self._local = threading.local()

    def _make_request(self, url, method, headers, data, params, callback=None, timeout=None):
        """One request, over by `timeout`: the time.monotonic() deadline send() passes through the SDK."""
        deadline = timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise SendError(Failure.RETRY, "no sending thread free before the deadline")
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        try:
            # stream: the headers first (each read waiting at most the time left), then the body read
            # against the deadline (_read_by).
            response = session.request(
                method,
                url,
                headers=headers,
                data=data,
                params=params,
                timeout=(min(CONNECT_SECONDS, left), left),
                stream=True,
            )
        except requests.ConnectTimeout:
            raise SendError(Failure.RETRY, "ConnectTimeout") from None  # never reached the carrier
        except requests.ConnectionError as exc:
            raise SendError(Failure.RETRY, type(exc).__name__, unanswered=_maybe_taken(exc)) from None
        except requests.Timeout as exc:  # the request went out; the answer did not come
            raise SendError(Failure.RETRY, type(exc).__name__, unanswered=True) from None
        # Closed, not pooled, unless read to the end: a connection cut at the deadline is never reused.
        with contextlib.closing(response):
            if response.status_code == 429 or response.status_code >= 500:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                raise SendError(Failure.RETRY, f"HTTP {response.status_code}", retry_after=wait)
            if response.status_code >= 400:
                # Not the body: it may echo the recipient's number.
                raise SendError(Failure.PROVIDER, f"HTTP {response.status_code}")
            body = _read_by(response, deadline)
        try:
            return json.loads(body)
        except ValueError:
            # A 2xx the carrier sent: it may well have taken the message.
            raise SendError(
                Failure.RETRY, f"unreadable answer (HTTP {response.status_code})", unanswered=True
            ) from None


def _maybe_taken(exc: requests.ConnectionError) -> bool:
    """Whether a connection error came after the request could have reached the carrier: a connection
    refused or not made never did; one dropped while waiting for the answer may have."""
    return not isinstance(getattr(exc.args[0], "reason", None), urllib3.exceptions.NewConnectionError)


def _read_by(response: requests.Response, deadline: float) -> bytes:
    """The answer's body, read before the deadline: each read waits no longer than the time left, so a
    carrier trickling its answer holds the thread (and the connection) no longer than the send's deadline."""
    body = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SendError(Failure.RETRY, "timeout: the answer did not arrive in time", unanswered=True)
        connection = response.raw.connection
        if connection is not None and connection.sock is not None:
            connection.sock.settimeout(left)
        try:
            chunk = response.raw.read1(MAX_ANSWER_BYTES, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SendError(Failure.RETRY, f"answer cut short: {type(exc).__name__}", unanswered=True) from None
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise SendError(Failure.RETRY, "answer too long", unanswered=True)


class AfricasTalkingSender:
    name = NAME

    def __init__(
        self,
        username: str,
        api_key: str,
        api_url: str,
        sender_id: str | None,
        timeout: float,
        concurrency: int = OutboxPolicy.concurrency,
    ):
        self._service = _SMSService(username, api_key, api_url)
        self._sender_id = sender_id
        self._seconds = timeout  # the whole send, answer included
        # The SDK is synchronous (requests): it runs on these threads, never on the event loop, one thread
        # (and keep-alive connection) for each send the dispatcher may have in flight: fewer would queue them.
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="africastalking")

    async def send(self, to: str, body: str) -> Sent:
        """Sends one SMS within the policy's send_timeout_seconds; raises SendError."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self._seconds  # the thread keeps it, waiting for a thread included
        try:
            async with asyncio.timeout(self._seconds + BACKSTOP_SECONDS):
                answer = await loop.run_in_executor(self._executor, self._send_blocking, to, body, deadline)
        except TimeoutError:
            raise SendError(Failure.RETRY, "timeout: no answer in time", unanswered=True) from None
        return _read_answer(answer)

    def _send_blocking(self, to: str, body: str, deadline: float):
        try:
            # The SDK passes `timeout` through to _make_request untouched: it carries the deadline.
            return self._service.send(body, [to], sender_id=self._sender_id, timeout=deadline)
        except ValueError:  # the SDK's local number check (its message holds the number)
            raise SendError(Failure.RECIPIENT, "invalid number") from None

    async def find_sent(self, to: str, body: str, since: float) -> Sent | None:
        """Always None: Africa's Talking has no look-up of sent messages (its fetch_messages lists the
        inbox), so a send whose answer never came is sent again: at least once, never lost."""
        return None

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _read_answer(answer) -> Sent:
    """Reads the per-recipient result: a failure for one number arrives inside a 2xx answer."""
    try:
        recipient = answer["SMSMessageData"]["Recipients"][0]
        code = int(recipient["statusCode"])
    except (KeyError, IndexError, TypeError, ValueError):
        message = answer.get("SMSMessageData", {}).get("Message", "") if isinstance(answer, dict) else ""
        raise SendError(Failure.PROVIDER, f"no recipient in answer: {str(message)[:120]}") from None
    if code in ACCEPTED_CODES:
        return Sent(provider_message_id=recipient.get("messageId") or None)
    detail = f"{code} {recipient.get('status', '')}".strip()
    if code in RECIPIENT_CODES:
        raise SendError(Failure.RECIPIENT, detail)
    if code in PROVIDER_CODES:
        raise SendError(Failure.PROVIDER, detail)
    raise SendError(Failure.RETRY, detail)


# -- webhooks -------------------------------------------------------------------------------------


def _verified(request: web.Request) -> None:
    verify(request.query, request.app[keys.SETTINGS].at_callback_token)


async def _ussd(request: web.Request) -> web.Response:
    _verified(request)
    message = parse_ussd(await webhook.read_form(request))
    try:
        answer = await webhook.receive(request, message, "ussd")
    except DatabaseUnavailable as exc:  # an outage, not a bug: one line, no traceback
        log.warning("database unavailable on /africastalking/ussd: %s", exc)
        return _unavailable(request)
    except Exception:
        log.exception("unexpected error on /africastalking/ussd")
        return _unavailable(request)
    return format_ussd(answer.text or "", answer.ends)


def _unavailable(request: web.Request) -> web.Response:
    """Nothing was stored: the person still gets a screen saying so, and can dial again."""
    return format_ussd(request.app[keys.TEXTS].say(None, "errors.ussd_unavailable"), True)


async def _ussd_events(request: web.Request) -> web.Response:
    _verified(request)
    ended = parse_ussd_end(await webhook.read_form(request))
    request.app[keys.METRICS].count_inbound(NAME, "ussd_end")
    await request.app[keys.CONVERSATION].ussd_ended(ended)
    return web.Response(text="OK")


async def _sms(request: web.Request) -> web.Response:
    _verified(request)
    await webhook.receive(request, parse_inbound(await webhook.read_form(request)), "sms")
    return web.Response(text="OK")


async def _delivery(request: web.Request) -> web.Response:
    _verified(request)
    await webhook.report(request, parse_status(await webhook.read_form(request)))
    return web.Response(text="OK")


# Africa's Talking's sandbox account: test traffic from its simulator, not people.
SANDBOX_USERNAME = "sandbox"


def _takes_webhooks(settings) -> bool:
    """Configured (SMS_PROVIDERS names it, or AT_USERNAME is set for USSD), or a console-only trial where
    nothing leaves the machine (`make serve`, the README's curl examples, `run.py simulate`)."""
    return NAME in settings.sms_providers or bool(settings.at_username) or settings.sms_providers == ("console",)


def _unguarded(settings) -> tuple[str, str] | None:
    """A real account with no callback token: anyone could post a forged SMS, USSD hop or delivery report."""
    if settings.at_username and settings.at_username != SANDBOX_USERNAME and not settings.at_callback_token:
        return (
            "AT_CALLBACK_TOKEN",
            "is required with a real Africa's Talking account (AT_USERNAME is not 'sandbox'): without it anyone "
            "can post forged SMS and USSD requests; set a long random token and append ?token=... to the callbacks",
        )
    return None


def _sender(settings, policy) -> AfricasTalkingSender:
    return AfricasTalkingSender(
        settings.at_username,
        settings.at_api_key,
        settings.at_api_url,
        settings.at_sender_id,
        policy.send_timeout_seconds,
        policy.concurrency,
    )


CARRIER = Carrier(
    name=NAME,
    build_sender=_sender,
    routes=(
        web.post("/africastalking/ussd", _ussd),
        web.post("/africastalking/ussd/events", _ussd_events),
        web.post("/africastalking/sms", _sms),
        web.post("/africastalking/delivery", _delivery),
    ),
    required=(("AT_USERNAME", "at_username"), ("AT_API_KEY", "at_api_key")),
    takes_webhooks=_takes_webhooks,
    unguarded=_unguarded,
)
