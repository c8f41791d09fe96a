"""Phone numbers as carriers send them and as people type them, and the country a number belongs to."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

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
    written = _as_written(text)
    if written is not None:  # what phonenumbers would say, without parsing
        code, national = written
        return text if len(national) in code.possible_lengths else None
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
    written = _as_written(e164)
    if written is not None:
        code, national = written
        # phonenumbers asks the main country first; if no other can take the number, it is no number of
        # any of them, and the main country is the answer all the same.
        if code.main_takes(national) or not code.other_takes(national):
            return None if code.regions[0] == phonenumbers.UNKNOWN_REGION else code.regions[0]
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return None if region == phonenumbers.UNKNOWN_REGION else region


# -- E.164 as carriers send it, read without phonenumbers' parser ------------------------------------------
#
# Every webhook carries a number like +15555550142, and every hop asks its country. phonenumbers reads it
# through a general parser (formatting, extensions, national prefixes) and finds the country of a shared
# calling code (+1 is 25 countries) by testing the number against each one's patterns: tens of
# microseconds, most of a hop's. For a number already written as "+", calling code and national number,
# the answer follows from phonenumbers' own metadata in a few look-ups, and the number is handed to
# phonenumbers whenever its parser could read it otherwise (a national prefix to strip) or another
# country of the calling code could claim it. tests/test_numbers.py holds both answers equal on random
# numbers.

_E164 = re.compile(r"\+([1-9][0-9]{6,19})")  # ASCII digits only: phonenumbers would convert others
# phonenumbers' bounds on a national number: shorter or longer is no number.
_NATIONAL_LENGTHS = range(2, 18)


@dataclass(frozen=True)
class _CallingCode:
    regions: tuple[str, ...]  # the main country first
    national_prefix: re.Pattern | None  # what parsing would strip from the start of the national number
    possible_lengths: frozenset[int]  # national numbers of these lengths are possible numbers
    # A shared calling code: whether the main country takes a number (it is asked first), and whether any
    # other could take one the main country does not.
    main_takes: Callable[[str], bool]
    other_takes: Callable[[str], bool]


def _as_written(text: str) -> tuple[_CallingCode, str] | None:
    """(calling code, national number) of an E.164 number that phonenumbers reads exactly as written; None
    for anything else (phonenumbers itself answers)."""
    match = _E164.fullmatch(text)
    if match is None:
        return None
    digits = match.group(1)
    for size in (1, 2, 3):  # calling codes are prefix-free: the first one found is the one
        code = _calling_code(int(digits[:size]))
        if code is not None:
            national = digits[size:]
            if len(national) not in _NATIONAL_LENGTHS:
                return None
            if code.national_prefix is not None and code.national_prefix.match(national):
                return None
            return code, national
    return None


def _never(national: str) -> bool:
    return False


@functools.cache
def _calling_code(number: int) -> _CallingCode | None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(number)
    if not regions:
        return None
    main = PhoneMetadata.metadata_for_region_or_calling_code(number, regions[0])
    if main is None or main.general_desc is None:
        return None  # no metadata to answer from: phonenumbers answers
    general = main.general_desc
    lengths = frozenset(general.possible_length_local_only or ())
    if general.possible_length and general.possible_length[0] != -1:
        lengths |= frozenset(general.possible_length)
    prefix = main.national_prefix_for_parsing
    if len(regions) == 1:
        # phonenumbers names the one country without looking at the number.
        return _CallingCode(tuple(regions), re.compile(prefix) if prefix else None, lengths, _never, _never)
    return _CallingCode(
        tuple(regions),
        re.compile(prefix) if prefix else None,
        lengths,
        _takes([regions[0]]),
        _takes(regions[1:]),
    )


def _takes(regions: list[str]) -> Callable[[str], bool]:
    """Whether phonenumbers would give a number of a shared calling code to one of these countries: by its
    leading digits where it has them, else when the number is valid there (of any type)."""
    leading, valid = [], []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            leading.append(f"(?:{metadata.leading_digits})")
        elif (check := _valid_in(metadata)) is not None:
            valid.append(check)
    starts = re.compile("|".join(leading)).match if leading else None

    def takes(national: str) -> bool:
        return (starts is not None and starts(national) is not None) or any(check(national) for check in valid)

    return takes


def _valid_in(metadata) -> Callable[[str], bool] | None:
    """phonenumbers' test that a national number is of some known type in one country: it fits the general
    description, then the description of any type (the patterns of types with the same lengths joined in
    one, since only whether one fits matters here)."""
    general = metadata.general_desc
    if general is None or not general.national_number_pattern:
        return None
    kinds = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        kinds.append(metadata.mobile)
    by_lengths: dict[frozenset[int], list[str]] = {}
    for kind in kinds:
        if kind is not None and kind.national_number_pattern:
            lengths = frozenset(kind.possible_length or ())
            by_lengths.setdefault(lengths, []).append(f"(?:{kind.national_number_pattern})")
    types = [(lengths, re.compile("|".join(patterns)).fullmatch) for lengths, patterns in by_lengths.items()]
    general_lengths = frozenset(general.possible_length or ())
    general_fits = re.compile(general.national_number_pattern).fullmatch

    def valid(national: str) -> bool:
        size = len(national)
        if (general_lengths and size not in general_lengths) or general_fits(national) is None:
            return False
        return any((not lengths or size in lengths) and fits(national) is not None for lengths, fits in types)

    return valid
