"""Which country a number belongs to: one answer for language, nationality and reading typed numbers."""

from __future__ import annotations

import pytest

from handlers.reference.numbers import region_of


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
