"""Which country a number belongs to: one answer for language, nationality and reading typed numbers; and
what a person meant by the digits they typed."""

from __future__ import annotations

import phonenumbers
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat
from phonenumbers.phonemetadata import PhoneMetadata

from handlers.reference.numbers import possible_e164, read_typed, region_of
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "number,region",
    [
        ("+17135550142", "US"),  # Houston
        ("+15555550142", "US"),  # no real area code: the main country of +1
        ("+14165550142", "CA"),  # Toronto: +1, but Canada
        ("+16135550199", "CA"),  # Ottawa
        ("+18765550142", "JM"),  # Jamaica, a +1 Caribbean number
        ("+18095550142", "DO"),  # Dominican Republic, a Spanish-speaking +1 country
        ("+525555500148", "MX"),  # Mexico City
        ("+5215555500148", "MX"),  # with the old mobile "1" Mexico dropped in 2019
        ("+50255550142", "GT"),  # Guatemala
        ("+44", None),  # a calling code and nothing else
        ("nonsense", None),
    ],
    ids=lambda value: str(value),
)
def test_one_region_for_each_number(number, region):
    assert region_of(number) == region


SERVED = ("US", "MX", "GT")  # where the sample consulates are, then the sample networks' nationalities


@pytest.mark.parametrize(
    "typed,region,numbers,certain",
    [
        # + cannot be typed on USSD: 00 and 011 stand for it, and Mexico's old mobile 1 after 52 is dropped.
        ("0052 55 5550 0148", "US", ("+525555500148",), True),
        ("0115215555500148", "US", ("+525555500148",), True),
        ("011 502 5555 0148", "US", ("+50255550148",), True),
        # The country's code without a prefix, and Mexico's old domestic prefixes, name the country.
        ("525555500148", "US", ("+525555500148",), True),
        ("0445555500144", "US", ("+525555500144",), True),
        ("01 55 5550 0148", "US", ("+525555500148",), True),
        # Ten digits valid in the US and in Mexico: both, the person's own country first.
        ("713 555 0142", "US", ("+17135550142", "+527135550142"), False),
        ("713 555 0142", "MX", ("+527135550142", "+17135550142"), False),
        # With the US 1 before it, a US number; Mexico's bare old mobile 1 counts only from a Mexican phone.
        ("1 713 555 0142", "US", ("+17135550142",), True),
        # A number of the person's own country alone is certain; another country's national digits are not.
        ("55 5550 0148", "MX", ("+525555500148",), True),
        ("55 5550 0148", "US", ("+525555500148",), False),
        ("5555 0148", "US", ("+50255550148",), False),
        ("555 0142", "US", (), False),
        ("hola", "US", (), False),
    ],
)
def test_what_a_typed_number_may_be(typed, region, numbers, certain):
    read = read_typed(typed, region, SERVED)
    assert (read.numbers, read.certain) == (numbers, certain)


def test_011_begins_a_national_number_where_it_is_no_way_out():
    assert read_typed("011 5555 0148", "AR").numbers == ("+541155550148",)  # Buenos Aires


# -- E.164 numbers as carriers send them: read without phonenumbers' parser, with the same answers ---------

POLICY = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text())
# The countries this deployment serves (their languages are configured) and the one it runs in.
CONFIGURED = sorted(set(POLICY["country_languages"]) | {"US"})
CONFIGURED_CODES = sorted({phonenumbers.country_code_for_region(region) for region in CONFIGURED})
# National numbers that start where the answer changes: national prefixes parsing would strip, area
# codes of the other +1 countries (Canada, the Caribbean), toll-free and fictional ranges.
STARTS = ["", "0", "1", "01", "044", "045", "9", "55", "416", "604", "613", "800", "900", "555", "713", "809"] + [
    leading
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
    for leading in (PhoneMetadata.metadata_for_region(region).leading_digits or "").split("|")
    if leading.isdigit()
]
DIGITS = st.text(alphabet="0123456789", max_size=16)


def possible_by_phonenumbers(text: str, region: str) -> str | None:
    """possible_e164 of a number written with '+', as phonenumbers alone answers it."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def region_by_phonenumbers(text: str) -> str | None:
    """region_of, as phonenumbers alone answers it."""
    try:
        number = phonenumbers.parse(text)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code
    )
    return None if region == phonenumbers.UNKNOWN_REGION else region


def same_answers(text: str) -> None:
    # The functions are cached: __wrapped__ reads each number afresh.
    assert possible_e164.__wrapped__(text, "US") == possible_by_phonenumbers(text, "US"), text
    assert region_of.__wrapped__(text) == region_by_phonenumbers(text), text


@settings(max_examples=3000, deadline=None)
@given(code=st.sampled_from(CONFIGURED_CODES), start=st.sampled_from(STARTS), rest=DIGITS)
def test_numbers_of_the_configured_countries_read_as_phonenumbers_reads_them(code, start, rest):
    same_answers(f"+{code}{start}{rest}")


@settings(max_examples=2000, deadline=None)
@given(
    code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    start=st.sampled_from(STARTS),
    rest=DIGITS,
)
def test_numbers_of_every_calling_code_read_as_phonenumbers_reads_them(code, start, rest):
    same_answers(f"+{code}{start}{rest}")


@settings(max_examples=500, deadline=None)
@given(text=st.from_regex(r"\A\+[0-9١-٩ ]{0,20}\Z"))
def test_anything_else_is_left_to_phonenumbers(text):
    same_answers(text)


@pytest.mark.parametrize("number", ["+17135550142", "+15555550142", "+525555500148", "+50255550142"])
def test_a_number_already_in_e164_form_is_read_without_the_general_parser(number, monkeypatch):
    def unavailable(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(phonenumbers, "parse", unavailable)
    assert possible_e164.__wrapped__(number, "US") == number
    assert region_of.__wrapped__(number) in {"US", "MX", "GT"}
