"""Phone numbers as people type them, read in their own country's context."""

from __future__ import annotations

import re

import phonenumbers

# Mexico dropped these in 2019, but people still type them: the mobile "1" after +52, and the
# 044/045 (mobile) and 01 (long distance) prefixes before the ten digits.
_MX_LEGACY = re.compile(r"^(?:\+?52)?(?:1|044|045|01)(\d{10})$")


def read_number(text: str, region: str) -> str | None:
    """E.164 for a number typed in national format, with +, or with the 00 prefix; None if not valid."""
    digits = re.sub(r"[^\d+]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    for candidate in _candidates(digits, region):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _candidates(digits: str, region: str) -> list[str]:
    candidates = [digits]
    legacy = _MX_LEGACY.match(digits)
    if legacy and (region == "MX" or digits.startswith("+52")):
        candidates.append("+52" + legacy.group(1))
    return candidates


def region_of_number(e164: str) -> str | None:
    """The country of an E.164 number ("MX" for +52...), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
