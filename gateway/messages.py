"""The internal values carriers are parsed into; no carrier field name crosses this line."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Channel(enum.StrEnum):
    USSD = "ussd"  # one hop of a USSD session; the answer goes back in the HTTP response
    SMS = "sms"  # a text message; the answer leaves through the outbox


class DeliveryStatus(enum.StrEnum):
    """The one internal set every carrier status maps onto (values match the outbox statuses)."""

    QUEUED = "queued"  # the carrier still holds it; changes nothing on our side
    SENT = "sent"  # handed to the network
    DELIVERED = "delivered"  # the handset has it
    UNDELIVERED = "undelivered"  # the network gave up (expired, unreachable)
    FAILED = "failed"  # the carrier refused it


class BadRequest(ValueError):
    """A webhook the carrier should not have sent as it is: answered with 400 and this reason.

    The reason is fixed text (at most a field name of ours), never a value from the request: a 400 body
    must not echo input back to whoever sent it."""


@dataclass(frozen=True)
class Inbound:
    """A message from a person: one SMS or one USSD hop."""

    carrier: str
    channel: Channel
    external_id: str  # the carrier's id, for de-duplication (USSD: session and hop)
    phone: str  # E.164
    text: str  # SMS body; for USSD every input so far joined by '*'
    service: str  # the short code or number the person reached
    session_id: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """A carrier's word on a message we sent."""

    carrier: str
    provider_message_id: str
    status: DeliveryStatus
    error: str | None = None


@dataclass(frozen=True)
class UssdSessionEnded:
    """A carrier's notice that a USSD session is over."""

    carrier: str
    session_id: str
    status: str  # completed | incomplete | failed
    hops: int | None
    duration_ms: int | None
    error: str | None
