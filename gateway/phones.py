"""Phone numbers at the edge: normalised to E.164 (or a 400), masked in every log line."""

from __future__ import annotations

from gateway.messages import BadRequest
from handlers.reference.numbers import possible_e164

# Where a carrier sends a number without '+', read it as a number in this region first.
DEFAULT_REGION = "US"


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 form; BadRequest if it is not a possible phone number."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise BadRequest("phone number missing or too long")
    number = possible_e164(text, region)
    if number is None:
        raise BadRequest("not a possible phone number")
    return number


def mask(phone: str | None) -> str:
    """+15555550142 → +1******0142: enough to tell numbers apart in a log, not enough to call."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "*" * len(phone)
    head = 2 if phone.startswith("+") else 1
    return phone[:head] + "*" * (len(phone) - head - 4) + phone[-4:]
