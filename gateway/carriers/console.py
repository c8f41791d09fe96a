"""The default provider: writes each SMS to the log, so the service runs with no carrier account."""

from __future__ import annotations

import collections
import logging
import re
import uuid

from gateway import encoding
from gateway.carriers.base import Carrier, Sent
from gateway.phones import mask

log = logging.getLogger("lifeline.console")

# Numbers inside a text (an alert relay names the person's number) are masked in the log too.
_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d \-]{6,}\d")


class ConsoleSender:
    name = "console"

    def __init__(self):
        # The latest messages, for a simulator to show; bounded so a long run does not grow.
        self.sent: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=1000)

    async def send(self, to: str, body: str) -> Sent:
        message_id = f"console-{uuid.uuid4().hex}"
        self.sent.append((message_id, to, body))
        shape = encoding.measure(body)
        plural = "s" if shape.segments > 1 else ""
        log.info(
            "SMS to %s: %d characters, %s, %d segment%s",
            mask(to),
            len(body),
            shape.encoding.value,
            shape.segments,
            plural,
        )
        # The text itself may name people and places: only at DEBUG, numbers masked.
        log.debug("SMS to %s: %s", mask(to), _NUMBER_IN_TEXT.sub(lambda m: mask(re.sub(r"[ \-]", "", m.group())), body))
        return Sent(provider_message_id=message_id)

    async def find_sent(self, to: str, body: str, since: float) -> Sent | None:
        """None: a console send never goes unanswered."""
        return None

    async def close(self) -> None:
        return None


CARRIER = Carrier(name="console", build_sender=lambda settings, policy: ConsoleSender())
