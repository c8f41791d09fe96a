"""The configured providers, built from settings inside the running loop."""

from __future__ import annotations

from gateway.carriers.africastalking import AfricasTalkingSender
from gateway.carriers.base import Sender
from gateway.carriers.console import ConsoleSender
from gateway.carriers.twilio import TwilioSender
from gateway.policy import OutboxPolicy
from gateway.settings import Settings


def build_senders(settings: Settings, policy: OutboxPolicy) -> dict[str, Sender]:
    """One sender per name in SMS_PROVIDERS (settings were validated, so credentials are there)."""
    senders: dict[str, Sender] = {}
    for name in settings.sms_providers:
        if name == "console":
            senders[name] = ConsoleSender()
        elif name == "africastalking":
            senders[name] = AfricasTalkingSender(
                settings.at_username,
                settings.at_api_key,
                settings.at_api_url,
                settings.at_sender_id,
                policy.send_timeout_seconds,
            )
        elif name == "twilio":
            status_url = f"{settings.public_url}/twilio/status" if settings.public_url else None
            senders[name] = TwilioSender(
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                settings.twilio_from,
                settings.twilio_api_url,
                status_url,
                policy.send_timeout_seconds,
            )
    return senders
