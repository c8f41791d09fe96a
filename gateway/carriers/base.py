"""What every sender promises: send one SMS, or fail with a reason that says what to do next."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from aiohttp import web


class Failure(enum.StrEnum):
    RETRY = "retry"  # connection failed, timed out, throttled (429), carrier 5xx: try again later
    PROVIDER = "provider"  # this provider refused (credentials, account, bad request): try another
    RECIPIENT = "recipient"  # no provider can deliver (invalid number, opted out): give up


class SendError(Exception):
    """A send that did not go through, classified; retry_after is how long the carrier asked us to wait
    before calling it again (its Retry-After header), 0 when it did not say."""

    def __init__(self, failure: Failure, detail: str, retry_after: float = 0.0):
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after


# A carrier asking for a longer pause than this is not taken at its word: urgent messages keep trying.
MAX_RETRY_AFTER_SECONDS = 3600.0


def retry_after_seconds(value: str | None, now: float | None = None) -> float:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), 0 when absent or unreadable.

    https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    """
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError):
            return 0.0
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class Sent:
    """The carrier took the message."""

    provider_message_id: str | None


class Sender(Protocol):
    name: str

    async def send(self, to: str, body: str) -> Sent:
        """Sends one SMS; raises SendError."""

    async def close(self) -> None:
        """Releases connections and threads."""


@dataclass(frozen=True)
class Carrier:
    """What a carrier module declares (as `CARRIER`), so adding a carrier is adding a file here."""

    name: str  # as SMS_PROVIDERS names it
    # (settings, outbox policy) → its sender, built inside the running loop.
    build_sender: Callable[[Any, Any], Sender]
    routes: tuple[web.RouteDef, ...] = ()  # its webhooks
    # (variable, Settings attribute) pairs it cannot send without.
    required: tuple[tuple[str, str], ...] = ()
