"""The US state of a +1 phone number, as phonenumbers' geocoder names it, without the geocoder.

The geocoder's data for every country is 99 MB of memory once imported; all a consulate look-up needs of it
is which state a +1 number's prefix belongs to. `phone_states_table.py` holds just that, generated from the
geocoder's data by `python -m handlers.reference.phone_states`, and `state_of` answers from it exactly what
the geocoder's description, read as a state, answers (tests/test_phone_states.py compares every prefix).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

from handlers.reference.phone_states_table import PREFIX_STATES, REGION_STATES
from handlers.reference.states import STATES

TABLE = Path(__file__).with_name("phone_states_table.py")
# The geocoder spells these two differently from the states' own names.
_STATE_BY_NAME = {name.lower(): code for code, name in STATES.items()} | {
    "washington state": "WA",
    "washington d.c.": "DC",
}
_GEOCODED_CITY = re.compile(r", ([A-Z]{2})$")  # "Houston, TX"


def state_of(number: PhoneNumber) -> str | None:
    """The state of a +1 number's area (two-letter code), or None: not valid, not geographic, Canada..."""
    # The geocoder's own steps (phonenumbers.geocoder.description_for_number), with its text replaced by the
    # state that text names.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    if phonenumbers.is_number_type_geographical(kind, number.country_code):
        digits = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
        for length in range(len(digits), 0, -1):  # the longest prefix the data knows
            if digits[:length] in PREFIX_STATES:
                return PREFIX_STATES[digits[:length]]
    return REGION_STATES.get(_region(number))


def _region(number: PhoneNumber) -> str | None:
    """The one region the number is valid in, as the geocoder names a number it has no prefix for."""
    regions = phonenumbers.region_codes_for_country_code(number.country_code)
    if len(regions) == 1:
        return regions[0]
    valid = [region for region in regions if phonenumbers.is_valid_number_for_region(number, region)]
    return valid[0] if len(valid) == 1 else None


def _state_of_description(description: str) -> str | None:
    """The state in a geocoder description: "Houston, TX", "Texas" or "Washington D.C."."""
    city = _GEOCODED_CITY.search(description)
    if city:
        return city.group(1) if city.group(1) in STATES else None  # ", ON" is Ontario
    return _STATE_BY_NAME.get(description.lower())


def geocoder_state(number: PhoneNumber) -> str | None:
    """What the geocoder itself says, read as a state: the reference `state_of` is generated from and tested
    against. Imports the geocoder's 99 MB: for the generator and the tests only."""
    from phonenumbers import geocoder

    return _state_of_description(geocoder.description_for_number(number, "en"))


def generate() -> str:
    """The table's source: every +1 prefix whose state differs from its nearest shorter prefix's (a number
    whose longest known prefix is left out answers as that shorter one), and the +1 regions whose name is a
    state's (a number no prefix describes is named by its region)."""
    from phonenumbers.geocoder import _region_display_name  # its names of regions, with their indirections
    from phonenumbers.geodata import GEOCODE_DATA

    described = {prefix: names["en"] for prefix, names in GEOCODE_DATA.items() if prefix.startswith("1")}

    def shorter(prefix: str) -> str | None:
        known = (prefix[:length] for length in range(len(prefix) - 1, 0, -1) if prefix[:length] in described)
        # With no shorter prefix the geocoder names the region instead: a prefix named None is kept.
        return _state_of_description(described[nearest]) if (nearest := next(known, None)) else "region"

    prefixes = {
        prefix: state
        for prefix, text in sorted(described.items())
        if (state := _state_of_description(text)) != shorter(prefix)
    }
    regions = {
        region: state
        for region in sorted(phonenumbers.region_codes_for_country_code(1))
        if (state := _state_of_description(_region_display_name(region, "en")))
    }
    lines = [
        '"""Generated from phonenumbers\' geocoder data by `python -m handlers.reference.phone_states`: do not edit.',
        'See phone_states.py."""',
        "",
        "# fmt: off",
        "PREFIX_STATES: dict[str, str | None] = {",
        *(
            "    " + " ".join(f'"{prefix}": {_literal(state)},' for prefix, state in row)
            for row in _rows(prefixes.items(), 6)
        ),
        "}",
        "REGION_STATES: dict[str, str] = {" + ", ".join(f'"{r}": "{s}"' for r, s in regions.items()) + "}",
        "",
    ]
    return "\n".join(lines)


def _literal(state: str | None) -> str:
    return f'"{state}"' if state else "None"


def _rows(items, size: int):
    items = list(items)
    return (items[start : start + size] for start in range(0, len(items), size))


if __name__ == "__main__":
    TABLE.write_text(generate(), encoding="utf-8")
    print(f"wrote {TABLE}", file=sys.stderr)
