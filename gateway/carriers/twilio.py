"""Twilio: signed SMS webhooks in, SMS out through the official SDK's aiohttp client.

Webhooks: https://www.twilio.com/docs/messaging/guides/webhook-request
Signatures: https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from gateway import keys
from gateway.carriers import fields, webhook
from gateway.carriers.base import Carrier, Failure, SendError, Sent, retry_after_seconds
from gateway.messages import BadRequest, Channel, DeliveryStatus, Inbound, StatusReport
from gateway.outbox.policy import OutboxPolicy
from gateway.phones import to_e164

NAME = "twilio"

# MessageStatus → internal status. Inbound-only statuses (receiving, received) are not ours to report.
DELIVERY_STATUS = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "partially_delivered": DeliveryStatus.SENT,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}

# Error codes that mean no provider will reach this recipient.
# https://www.twilio.com/docs/api/errors
RECIPIENT_ERRORS = {
    21211,  # invalid 'To' number
    21408,  # no permission to send to this region
    21610,  # recipient replied STOP (opted out)
    21612,  # 'To' number cannot be reached from this 'From'
    21614,  # 'To' number is not a mobile number
}
THROTTLED_ERRORS = {20429, 14107}  # too many requests; SMS send rate exceeded

MAX_BODY = 1600  # Twilio's own limit on an inbound Body

# A look-up for a message whose send went unanswered reads at most this many of the newest messages to
# the number, this many a page.
LOOKUP_LIMIT = 200
LOOKUP_PAGE_SIZE = 50
# Twilio's clock and ours may differ: a message it dates this much before the outbox row still counts.
CLOCK_SKEW_SECONDS = 120


def verify(url: str, form: Mapping[str, str], signature: str | None, auth_token: str | None) -> None:
    """Refuses a request whose X-Twilio-Signature does not match (or when no auth token is configured)."""
    if not auth_token or not signature or not RequestValidator(auth_token).validate(url, form, signature):
        raise web.HTTPForbidden(text="invalid Twilio signature\n")


def parse_inbound(form: Mapping[str, str]) -> Inbound:
    """An incoming SMS; any other field Twilio adds is ignored (but was signed over)."""
    sid = fields.optional(form, "MessageSid", 64) or fields.required(form, "SmsSid", 64)
    return Inbound(
        carrier=NAME,
        channel=Channel.SMS,
        external_id=sid,
        phone=to_e164(fields.required(form, "From", 32)),
        text=fields.text(form, "Body", MAX_BODY).strip(),
        service=fields.required(form, "To", 32),
    )


def parse_status(form: Mapping[str, str]) -> StatusReport:
    """A status callback for a message we sent."""
    status = fields.required(form, "MessageStatus", 32).lower()
    if status not in DELIVERY_STATUS:
        raise BadRequest("unknown MessageStatus")
    error = fields.optional(form, "ErrorCode", 16)
    return StatusReport(
        carrier=NAME,
        provider_message_id=fields.required(form, "MessageSid", 64),
        status=DELIVERY_STATUS[status],
        error=f"twilio {error}" if error else None,
    )


# Written once: the SDK builds and serialises an XML tree for it, which cost more than the rest of the reply.
EMPTY_TWIML = str(MessagingResponse())


def format_reply() -> web.Response:
    """Empty TwiML: the answer leaves through the outbox, recorded and retried like every SMS."""
    return web.Response(text=EMPTY_TWIML, content_type="application/xml")


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client, reading Retry-After: TwilioRestException keeps no headers, so a 429 or
    5xx that says when to come back is raised here, before the SDK turns it into its exception.

    Its session keeps as many connections as the dispatcher has sends in flight (the SDK's own holds
    aiohttp's default 100, which a larger concurrency would queue behind)."""

    def __init__(self, connections: int):
        super().__init__(pool_connections=False)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))

    # The SDK formats each request's URL and headers and each answer's headers for its log before asking
    # whether the log wants them (serve keeps it at WARNING): about 10 µs a send, skipped when unwanted.
    def log_request(self, kwargs) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code, response) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)

    async def request(self, method, url, *args, **kwargs):
        response = await super().request(method, url, *args, **kwargs)
        status = response.status_code
        if status == 429 or status >= 500:
            wait = retry_after_seconds((response.headers or {}).get("Retry-After"))
            if wait:
                raise SendError(Failure.RETRY, f"HTTP {status}, retry after {wait:g} s", retry_after=wait)
        return response


class TwilioSender:
    """Sends through the SDK's aiohttp client; create it inside the running loop, close it on shutdown."""

    name = NAME

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_: str,
        api_url: str,
        status_url: str | None,
        timeout: float,
        concurrency: int = OutboxPolicy.concurrency,
    ):
        self._http = _HttpClient(concurrency)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        # The SDK rewrites the host from TWILIO_REGION / TWILIO_EDGE (read from os.environ even when
        # given an empty environment): clear both so TWILIO_API_URL is the one host used.
        self._client.region = None
        self._client.edge = None
        self._client.api.base_url = api_url
        self._from = from_
        self._status_url = status_url
        self._timeout = timeout

    async def send(self, to: str, body: str) -> Sent:
        """Sends one SMS within the policy's send_timeout_seconds; raises SendError."""
        try:
            async with asyncio.timeout(self._timeout):
                message = await self._client.messages.create_async(
                    to=to, from_=self._from, body=body, status_callback=self._status_url
                )
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing reached Twilio
            raise SendError(Failure.RETRY, type(exc).__name__) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:  # the answer did not come
            raise SendError(Failure.RETRY, type(exc).__name__, unanswered=True) from None
        except TwilioException as exc:  # an answer the SDK could not read
            raise SendError(Failure.RETRY, str(exc)[:120], unanswered=True) from None
        return Sent(provider_message_id=message.sid)

    async def find_sent(self, to: str, body: str, since: float) -> Sent | None:
        """The message with this text Twilio took for this number since then, from its message list
        (To and From filtered, newest first); None when there is none.

        Not filtered by DateSent: a message Twilio took but has not handed to the network yet (queued: a
        long code sends about one segment a second) has no date_sent, and a DateSent filter leaves it out,
        which is exactly the message a timed-out send may have left behind.
        """
        earliest = datetime.fromtimestamp(since - CLOCK_SKEW_SECONDS, UTC)
        try:
            async with asyncio.timeout(self._timeout):
                found = await self._client.messages.stream_async(
                    to=to, from_=self._from, limit=LOOKUP_LIMIT, page_size=LOOKUP_PAGE_SIZE
                )
                async for message in found:
                    created = message.date_created
                    if message.body == body and (created is None or created >= earliest):
                        return Sent(provider_message_id=message.sid)
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SendError(Failure.RETRY, f"look-up: {type(exc).__name__}") from None
        except TwilioException as exc:  # an error page, or an answer the SDK could not read
            raise SendError(Failure.RETRY, f"look-up: {type(exc).__name__}") from None
        return None

    async def close(self) -> None:
        await self._http.close()


def _classify(exc: TwilioRestException) -> SendError:
    detail = f"HTTP {exc.status} code {exc.code}"
    if exc.code in RECIPIENT_ERRORS:
        return SendError(Failure.RECIPIENT, detail)
    if exc.status == 429 or exc.code in THROTTLED_ERRORS or exc.status >= 500:
        return SendError(Failure.RETRY, detail)
    return SendError(Failure.PROVIDER, detail)


# -- webhooks -------------------------------------------------------------------------------------


async def _signed_form(request: web.Request):
    """The form, once its X-Twilio-Signature is checked against the URL Twilio called."""
    form = await webhook.read_form(request)
    settings = request.app[keys.SETTINGS]
    # Behind a proxy, request.url is the inside address; Twilio signed the public one.
    url = settings.public_url + request.path_qs if settings.public_url else str(request.url)
    verify(url, form, request.headers.get("X-Twilio-Signature"), settings.twilio_auth_token)
    return form


async def _sms(request: web.Request) -> web.Response:
    await webhook.receive(request, parse_inbound(await _signed_form(request)), "sms")
    return format_reply()


async def _status(request: web.Request) -> web.Response:
    await webhook.report(request, parse_status(await _signed_form(request)))
    return web.Response(status=204)


def _takes_webhooks(settings) -> bool:
    """Configured: SMS_PROVIDERS names it, or an auth token is there to check signatures with."""
    return NAME in settings.sms_providers or bool(settings.twilio_auth_token)


def _unguarded(settings) -> tuple[str, str] | None:
    """Twilio signs the public URL it calls: without PUBLIC_URL the signature is checked against the Host
    header the request itself brings, and no StatusCallback is asked for (so no delivery reports)."""
    if _takes_webhooks(settings) and not settings.public_url:
        return (
            "PUBLIC_URL",
            "is required with Twilio: signatures are checked against it and delivery reports are sent to it",
        )
    return None


def _sender(settings, policy) -> TwilioSender:
    status_url = f"{settings.public_url}/twilio/status" if settings.public_url else None
    return TwilioSender(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_from,
        settings.twilio_api_url,
        status_url,
        policy.send_timeout_seconds,
        policy.concurrency,
    )


CARRIER = Carrier(
    name=NAME,
    build_sender=_sender,
    routes=(web.post("/twilio/sms", _sms), web.post("/twilio/status", _status)),
    required=(
        ("TWILIO_ACCOUNT_SID", "twilio_account_sid"),
        ("TWILIO_AUTH_TOKEN", "twilio_auth_token"),
        ("TWILIO_FROM", "twilio_from"),
    ),
    takes_webhooks=_takes_webhooks,
    unguarded=_unguarded,
)
