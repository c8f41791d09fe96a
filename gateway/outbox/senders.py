"""The configured providers, built from settings inside the running loop."""

from __future__ import annotations

from gateway.carriers.base import Sender
from gateway.carriers.registry import carriers
from gateway.outbox.policy import OutboxPolicy
from gateway.settings import Settings


def build_senders(settings: Settings, policy: OutboxPolicy) -> dict[str, Sender]:
    """One sender per name in SMS_PROVIDERS (settings were validated, so credentials are there)."""
    known = carriers()
    return {name: known[name].build_sender(settings, policy) for name in settings.sms_providers}
