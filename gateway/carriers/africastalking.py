"""Africa's Talking: USSD and SMS webhooks in; SMS out through the official SDK (sdk/africastalking_sender.py).

Webhook fields: https://developers.africastalking.com/docs/ussd/overview and /docs/sms/notifications.
Africa's Talking does not sign callbacks, so a shared token in the URL (?token=) guards them.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping

from aiohttp import web

from gateway import keys
from gateway.carriers import fields, webhook
from gateway.carriers.base import Carrier
from gateway.messages import BadRequest, Channel, DeliveryStatus, Inbound, StatusReport, UssdSessionEnded
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


def _sender(settings, policy):
    from gateway.carriers.sdk.africastalking_sender import AfricasTalkingSender  # the SDK: loaded only to send

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
