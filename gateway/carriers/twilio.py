"""Twilio: signed SMS webhooks in; SMS out through the official SDK's aiohttp client (sdk/twilio_sender.py).

Webhooks: https://www.twilio.com/docs/messaging/guides/webhook-request
Signatures: https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlparse

from aiohttp import web
from twilio.request_validator import add_port, remove_port
from twilio.twiml.messaging_response import MessagingResponse

from gateway import keys
from gateway.carriers import fields, webhook
from gateway.carriers.base import Carrier
from gateway.messages import BadRequest, Channel, DeliveryStatus, Inbound, StatusReport
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

MAX_BODY = 1600  # Twilio's own limit on an inbound Body


def verify(url: str, form: Mapping[str, str], signature: str | None, auth_token: str | None) -> None:
    """Refuses a request whose X-Twilio-Signature does not match (or when no auth token is configured)."""
    if not auth_token or not signature or not signed(url, form, signature, auth_token):
        raise web.HTTPForbidden(text="invalid Twilio signature\n")


# Twilio's signature, computed as the SDK's RequestValidator computes it (tests/test_webhooks_twilio.py
# holds the two to the same answer on random requests), for less: the SDK builds the HMAC key anew, works
# out the URL's two forms and signs both on every webhook, 24-34 µs of each against 6 here.


def signed(url: str, form: Mapping[str, str], signature: str, auth_token: str) -> bool:
    """Whether the signature is the auth token's HMAC-SHA1 of the URL Twilio called (with or without its
    port: Twilio signs either) followed by each parameter's name and value, sorted by name, then value."""
    # Names sorted, each one's distinct values sorted: the distinct (name, value) pairs, sorted.
    fields = "".join(name + value for name, value in sorted(set(form.items())))
    given = signature.encode("utf-8", "replace")  # a signature is base64: anything else matches nothing
    key = _key(auth_token)
    for form_of_url in _signed_forms(url):  # one HMAC for a genuine request, as a rule
        mac = key.copy()
        mac.update((form_of_url + fields).encode("utf-8"))
        if hmac.compare_digest(base64.b64encode(mac.digest()), given):
            return True
    return False


@functools.lru_cache(maxsize=4)
def _key(auth_token: str) -> hmac.HMAC:
    """The HMAC with the token's key already mixed in; each signature starts from a copy."""
    return hmac.new(auth_token.encode("utf-8"), digestmod=hashlib.sha1)


@functools.lru_cache(maxsize=64)
def _signed_forms(url: str) -> tuple[str, ...]:
    """The URL without and with its port, as the SDK writes them (the webhook's URL is nearly always one)."""
    parsed = urlparse(url)
    return tuple(dict.fromkeys((remove_port(parsed), add_port(parsed))))


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


def _sender(settings, policy):
    from gateway.carriers.sdk.twilio_sender import TwilioSender  # the SDK: loaded only to send

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
