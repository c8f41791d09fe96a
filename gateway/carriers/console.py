"""The default provider: writes each SMS to the log, so the service runs with no carrier account and a
newcomer sees what a person would receive."""

from __future__ import annotations

import collections
import itertools
import logging
import re
import uuid

from gateway import encoding
from gateway.carriers.base import Carrier, Sent
from gateway.phones import mask

log = logging.getLogger("lifeline.console")

# Numbers inside a text (an alert relay names the person's number) are masked in the log too: +country
# code, an area code in brackets, then digits, spaces, dots and dashes, at least MIN_DIGITS digits in all.
_NUMBER_IN_TEXT = re.compile(r"(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d[\d .\-]{4,}\d")
MIN_DIGITS = 7  # the shortest phone number; "08:00  2 08:20" in a list of times is left alone


class ConsoleSender:
    name = "console"

    def __init__(self):
        # The latest messages, for a simulator to show; bounded so a long run does not grow.
        self.sent: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=1000)
        # Ids unique across processes and restarts: a random prefix drawn once, then a counter (a random
        # draw per message cost more than the rest of the send).
        self._prefix = f"console-{uuid.uuid4().hex[:16]}-"
        self._numbers = itertools.count(1)

    async def send(self, to: str, body: str) -> Sent:
        message_id = f"{self._prefix}{next(self._numbers)}"
        self.sent.append((message_id, to, body))
        if log.isEnabledFor(logging.INFO):  # measured and masked only to be printed
            shape = encoding.measure(body)
            log.info(
                "SMS to %s (%d characters, %s, %d segment%s): %s",
                mask(to),
                len(body),
                shape.encoding.value,
                shape.segments,
                "s" if shape.segments > 1 else "",
                masked_text(body).replace("\n", "\\n"),  # one log line per SMS
            )
        return Sent(provider_message_id=message_id)

    async def find_sent(self, to: str, body: str, since: float) -> Sent | None:
        """None: a console send never goes unanswered."""
        return None

    async def close(self) -> None:
        return None


# What a number may be written with besides digits and a leading +: dropped before it is masked.
_SEPARATORS = str.maketrans("", "", " .-()")


def _masked(found: re.Match) -> str:
    written = found.group()
    number = written.translate(_SEPARATORS)
    return mask(number) if len(number) - number.startswith("+") >= MIN_DIGITS else written


def masked_text(body: str) -> str:
    """The text with every phone number in it masked (+1 555 555 0199 → +1******0199)."""
    if sum(map(body.count, "0123456789")) < MIN_DIGITS:
        return body  # no number in it: most texts (a menu numbers its options 1 to 5), read in C at once
    return _NUMBER_IN_TEXT.sub(_masked, body)


CARRIER = Carrier(name="console", build_sender=lambda settings, policy: ConsoleSender())
