"""Which country a number belongs to: one answer for language, nationality and reading typed numbers; and
what a person meant by the digits they typed."""

from __future__ import annotations

import pytest

from handlers.reference.numbers import read_typed, region_of


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
