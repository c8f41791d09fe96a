"""handlers.reference.phone_states: a +1 number's state from a small generated table, exactly as
phonenumbers' geocoder (99 MB of data once imported) names it."""

from __future__ import annotations

import subprocess
import sys

import phonenumbers
import pytest
from phonenumbers.geodata import GEOCODE_DATA

from handlers.reference import phone_states
from handlers.reference.phone_states import geocoder_state, state_of
from tests.conftest import ROOT

# Ten-digit numbers whose ends complete a prefix: fictional 555-01xx, ordinary subscriber numbers, and one
# ending in zeros (the geocoder tells valid numbers from invalid ones, so several shapes are needed).
ENDINGS = ("0005550142", "0002345678", "0009876543", "0004560000")


def _numbers(national_prefix: str) -> list[phonenumbers.PhoneNumber]:
    # Past the exchange (six digits) every ending is as valid as another: one is enough.
    endings = ENDINGS if len(national_prefix) < 6 else ENDINGS[:1]
    return [phonenumbers.parse(f"+1{national_prefix}{ending[len(national_prefix) :]}") for ending in endings]


def test_every_prefix_of_the_geocoders_data_gives_the_geocoders_state():
    # Every +1 prefix the geocoder knows (area codes, and the exchanges it names more precisely, e.g. a
    # New Jersey area code's exchange that is New York), each completed into several numbers.
    prefixes = sorted(prefix[1:] for prefix in GEOCODE_DATA if prefix.startswith("1") and len(prefix) > 1)
    assert len(prefixes) > 30_000
    numbers = [number for prefix in prefixes for number in _numbers(prefix)]
    differing = [
        (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), expected, state)
        for number in numbers
        if (state := state_of(number)) != (expected := geocoder_state(number))
    ]
    # A newer phonenumbers whose data moved: regenerate with `python -m handlers.reference.phone_states`.
    assert differing == []


def test_every_area_code_gives_the_geocoders_state():
    # Including those the geocoder has no prefix for (it names the number's region: Puerto Rico, Guam...).
    numbers = [number for area_code in range(200, 1000) for number in _numbers(str(area_code))]
    assert [state_of(n) for n in numbers] == [geocoder_state(n) for n in numbers]
    found = {state_of(n) for n in numbers}
    assert {"TX", "CA", "NY", "PR", "GU", "DC"} <= found


@pytest.mark.parametrize(
    ("number", "state"),
    [
        ("+17135550142", "TX"),
        ("+12015550142", "NJ"),
        ("+12016315555", "NY"),  # a Jersey area code, a New York exchange
        ("+17875550142", "PR"),
        ("+14165550142", None),  # Toronto
        ("+18005550142", None),  # toll-free: no state
        ("+15555550142", None),  # no geographic area code
    ],
    ids=lambda value: repr(value),
)
def test_examples(number, state):
    assert state_of(phonenumbers.parse(number)) == state


def test_the_committed_table_is_what_the_generator_writes():
    assert phone_states.TABLE.read_text(encoding="utf-8") == phone_states.generate()


def test_looking_up_a_state_does_not_load_the_geocoder():
    # The point of the table: the geocoder's data never enters the service's memory.
    code = (
        "import sys, phonenumbers\n"
        "from handlers.reference.consulates import Directory\n"
        "from handlers.reference.phone_states import state_of\n"
        "assert state_of(phonenumbers.parse('+17135550142')) == 'TX'\n"
        "print(sorted(m for m in sys.modules if m.startswith('phonenumbers.geo')))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
