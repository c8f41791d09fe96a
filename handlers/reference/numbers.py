"""Phone numbers as carriers send them and as people type them, and the country a number belongs to."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

# Mexico dropped these in 2019, but people still type them: the mobile "1" after +52, and the
# 044/045 (mobile) and 01 (long distance) prefixes before the ten digits.
_MX_LEGACY = re.compile(r"^(?:\+?52)?(?:1|044|045|01)(\d{10})$")
# From abroad the same ten digits come after 52 or 52 1, or after Mexico's own prefixes; a bare "1" before
# them is read only from a Mexican phone ("1 713 555 0142" from the US is a US number).
_MX_DOMESTIC = re.compile(r"^(?:521|52|044|045|01)(\d{10})$")


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
    """E.164 for a number a person typed in their country's national format, or with +, 00 or 011 before
    the country code; None if not valid."""
    found = read_typed(text, region).numbers
    return found[0] if found else None


@dataclass(frozen=True)
class Typed:
    """What a person typed as a phone number: every valid number it may be, and whether that is certain."""

    numbers: tuple[str, ...] = ()  # the person's own country's reading first
    # One number, and the digits say so: dialled abroad (+, 00, 011), or with its country's code (52 55...)
    # or an old Mexican prefix (044...), or read only in the person's own country.
    certain: bool = False


def read_typed(text: str, region: str, countries: Iterable[str] = ()) -> Typed:
    """The numbers a person may have meant. With +, 00 or 011 before the country code, the one it names;
    else the number read in their own country, then in each of `countries`: "713 555 0142" from a US phone
    is +1 713... and, with MX among them, +52 713...; "55 5550 0148" is +52 55... and maybe some other
    country's, so it is not certain."""
    digits = re.sub(r"[^\d+]", "", text)
    if not digits or len(digits) > 24:
        return Typed()
    # 011 is how the US and Canada dial abroad; elsewhere it may begin a national number (Buenos Aires 011).
    dialled_abroad = digits.startswith(("+", "00")) or (
        digits.startswith("011")
        and (phonenumbers.country_code_for_region(region) == 1 or not _first([digits], region, _valid))
    )
    if dialled_abroad:
        number = "+" + re.sub(r"^(?:\+|00|011)", "", digits)
        legacy = _MX_LEGACY.match(number) if number.startswith("+52") else None
        found = _first([number, "+52" + legacy.group(1)] if legacy else [number], region, _valid)
        return Typed((found,), certain=True) if found else Typed()
    numbers, named = [], []
    for country in dict.fromkeys((region, *countries)):
        own = country == region
        legacy = (_MX_LEGACY if own else _MX_DOMESTIC).match(digits) if country == "MX" else None
        number = _first([digits, "+52" + legacy.group(1)] if legacy else [digits], country, _valid)
        if number and number not in numbers:
            numbers.append(number)
            named.append(own or bool(legacy) or not _national_form(digits, number))
    return Typed(tuple(numbers), certain=len(numbers) == 1 and named[0])


def _valid(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.is_valid_number(number)


def _national_form(digits: str, e164: str) -> bool:
    """The digits are the number's national digits alone, without its country's code."""
    return digits.lstrip("0") == str(phonenumbers.parse(e164).national_number)


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
