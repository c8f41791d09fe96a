"""Phone numbers: normalised to E.164 at the edge, masked in every log line."""

from __future__ import annotations

import functools

import phonenumbers

from gateway.messages import BadRequest

# Where a carrier sends a number without '+', read it as a number in this region first.
DEFAULT_REGION = "US"


@functools.lru_cache(maxsize=4096)
def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 form; BadRequest if it is not a possible phone number.

    Cached: every hop of a USSD session carries the same number, and parsing is costly.
    """
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise BadRequest("phone number missing or too long")
    if text.startswith("00"):
        text = "+" + text[2:]
    # Carriers sometimes drop the '+' of an international number (254711..., 52155...):
    # read it as national first, then as international.
    candidates = [text] if text.startswith("+") else [text, "+" + text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise BadRequest("not a possible phone number")


@functools.lru_cache(maxsize=4096)
def region_of(e164: str) -> str:
    """The main region of the number's country (US for +1, MX for +52), for language and local numbers."""
    return phonenumbers.region_code_for_country_code(phonenumbers.parse(e164).country_code)


def mask(phone: str | None) -> str:
    """+15555550142 → +1******0142: enough to tell numbers apart in a log, not enough to call."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "*" * len(phone)
    head = 2 if phone.startswith("+") else 1
    return phone[:head] + "*" * (len(phone) - head - 4) + phone[-4:]
