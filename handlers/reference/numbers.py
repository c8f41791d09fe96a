"""Phone numbers as carriers send them and as people type them, and the country a number belongs to."""

from __future__ import annotations

import functools
import re

import phonenumbers

# Mexico dropped these in 2019, but people still type them: the mobile "1" after +52, and the
# 044/045 (mobile) and 01 (long distance) prefixes before the ten digits.
_MX_LEGACY = re.compile(r"^(?:\+?52)?(?:1|044|045|01)(\d{10})$")


@functools.lru_cache(maxsize=4096)
def possible_e164(raw: str, region: str) -> str | None:
    """E.164 for a number a carrier sent (with or without '+', or with 00), if it is a possible number.

    Cached: every hop of a USSD session carries the same number, and parsing is costly.
    """
    text = (raw or "").strip()
    if not text or len(text) > 32:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    # Carriers sometimes drop the '+' of an international number (254711..., 52155...):
    # read it as national first, then as international.
    candidates = [text] if text.startswith("+") else [text, "+" + text]
    return _first(candidates, region, phonenumbers.is_possible_number)


def read_number(text: str, region: str) -> str | None:
    """E.164 for a number a person typed in national format, with +, or with the 00 prefix; None if not
    valid."""
    digits = re.sub(r"[^\d+]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    return _first(_candidates(digits, region), region, phonenumbers.is_valid_number)


def _first(candidates: list[str], region: str, acceptable) -> str | None:
    """E.164 of the first candidate that parses and is acceptable (possible, or valid)."""
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if acceptable(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _candidates(digits: str, region: str) -> list[str]:
    candidates = [digits]
    legacy = _MX_LEGACY.match(digits)
    if legacy and (region == "MX" or digits.startswith("+52")):
        candidates.append("+52" + legacy.group(1))
    return candidates


@functools.lru_cache(maxsize=4096)
def region_of(e164: str) -> str | None:
    """The country of an E.164 number: its own for a valid number (+1 416... is CA, +1 876... is JM), else
    the main country of its calling code (+52 1 55... is MX); None when it is no number at all."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return None if region == phonenumbers.UNKNOWN_REGION else region
