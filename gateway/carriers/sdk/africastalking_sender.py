"""Africa's Talking's SMS sender: the official SDK (requests, on threads) pointed at a configurable host.

Imported only when a sender is built: the SDK and requests take some 40 ms to import, which a service that
sends through another provider would pay at every start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import urllib3
from africastalking.SMS import SMSService

from gateway.carriers.africastalking import NAME
from gateway.carriers.base import Failure, SendError, Sent, retry_after_seconds
from gateway.outbox.policy import OutboxPolicy

# Per-recipient statusCode inside a 2xx send answer → what to do.
# https://developers.africastalking.com/docs/sms/sending/bulk
ACCEPTED_CODES = {100, 101, 102}  # Processed, Sent, Queued
RECIPIENT_CODES = {403, 404, 406, 409}  # InvalidPhoneNumber, UnsupportedNumberType, UserInBlacklist, DoNotDisturb
PROVIDER_CODES = {401, 402, 405}  # RiskHold, InvalidSenderId, InsufficientBalance
# Everything else (407 CouldNotRoute, 500 InternalServerError, 501 GatewayError, 502 RejectedByGateway) is retried.

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
