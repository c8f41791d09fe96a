"""What a person tells about themselves: where they live (used to find their consulate)."""

from __future__ import annotations

import re

from handlers.outcome import Request, Result
from store import people

MAX_LOCATION = 60
_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")
_PIN = re.compile(r"^\d{4}$")
_STATE = re.compile(r"(?:^|[\s,])([A-Za-z]{2})\s*$")


def normalise_location(text: str) -> str:
    """A ZIP code as its five digits; anything else (city and state) as typed, shortened."""
    zip_code = _ZIP.match(text)
    return zip_code.group(1) if zip_code else " ".join(text.split())[:MAX_LOCATION]


def zip_and_state(location: str) -> tuple[str | None, str | None]:
    """The ZIP code or the trailing state code of a location, for finding the consulate."""
    zip_code = _ZIP.match(location)
    if zip_code:
        return zip_code.group(1), None
    state = _STATE.search(location)
    return None, state.group(1).upper() if state else None


def save_location(request: Request) -> Result:
    """Stores the home location, once the person has agreed to what Lifeline keeps."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    location = normalise_location(request.data.get("location", ""))
    if not location:
        return Result(outcome="invalid")
    people.set_location(request.person_id, location, request.now)
    return Result(outcome="saved", values={"location": location})


def save_pins(request: Request) -> Result:
    """A 4-digit safety PIN and a different duress PIN, asked when cancelling an alert."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    safety, duress = request.data.get("safety_pin", ""), request.data.get("duress_pin", "")
    if not (_PIN.match(safety) and _PIN.match(duress)) or safety == duress:
        return Result(outcome="invalid")
    people.set_pins(request.person_id, safety, duress)
    return Result(outcome="saved")


MAX_NAME = 40


def save_name(request: Request) -> Result:
    """The name relays give with the person's number, once they agreed to what Lifeline keeps."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    name = " ".join(request.data.get("name", "").split())[:MAX_NAME]
    if not name:
        return Result(outcome="invalid")
    people.set_name(request.person_id, name)
    return Result(outcome="saved", values={"name": name})
