"""What a person tells about themselves: where they live (used to find their consulate)."""

from __future__ import annotations

import re

from handlers.lifeline import alerts
from handlers.lifeline.alerts import MAX_PIN_TRIES
from handlers.lifeline.limits import DAY, Limits
from handlers.outcome import Request, Result
from handlers.reference.consulates import Directory
from store import limits as limit_uses
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


def start_pins(request: Request) -> Result:
    """Where PIN set-up starts: "new" (none set yet; "new_sms" by SMS, where the PINs typed stay in the
    phone's messages, so the person is told and pointed to USSD), or "set": change or remove them."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    sms = "_sms" if request.channel == "sms" else ""
    return Result(outcome=("set" if people.has_pins(request.person_id) else "new") + sms)


def check_current_pin(request: Request, limits: Limits, directory: Directory | None) -> Result:
    """The current safety PIN, before PINs change or go: then "change" (or "change_sms") or "removed".
    Wrong PINs are limited per session and per day, so nobody holding the phone can try the 10,000 PINs.

    The emergency PIN answers exactly as the safety PIN would, and the consulate of an open alert is told,
    but it undoes no protection: a "removal" hides the PINs from the phone (every cancel is then under
    duress), and a "change" makes the new safety PIN typed the emergency PIN, the real one staying."""
    then = request.args.get("then") or request.data.get("pins_then", "")
    wrong_today = limit_uses.used_since(request.phone, limit_uses.PIN_WRONG, request.now - DAY)
    if wrong_today >= limits.wrong_pins_per_day:
        return Result(outcome="locked")
    verdict = people.check_pin(request.person_id, request.data.get("current_pin", ""))
    if verdict == "wrong":
        limit_uses.count_use(request.phone, limit_uses.PIN_WRONG, request.now)
        tries = int(request.data.get("pin_tries", "0")) + 1
        if tries >= MAX_PIN_TRIES or wrong_today + 1 >= limits.wrong_pins_per_day:
            return Result(outcome="locked")
        return Result(outcome="wrong", values={"pin_tries": str(tries), "pins_then": then})
    forced = verdict == "duress"
    told = tuple(alerts.pins_forced(request.person_id, request.phone, directory, request.now)) if forced else ()
    if then == "remove":
        if forced:
            people.hide_pins(request.person_id, request.now)
        else:
            people.remove_pins(request.person_id)
        return Result(outcome="removed", outgoing=told)
    sms = "_sms" if request.channel == "sms" else ""
    values = {"pins_verified": "1", "pin_tries": "0", "pins_forced": "1" if forced else ""}
    return Result(outcome="change" + sms, values=values, outgoing=told)


def save_pins(request: Request) -> Result:
    """A 4-digit safety PIN and a different emergency PIN, asked when cancelling an alert. Replacing PINs
    already set needs the current safety PIN first (check_current_pin)."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    if people.has_pins(request.person_id) and not request.data.get("pins_verified"):
        return Result(outcome="needs_current")
    safety, duress = request.data.get("safety_pin", ""), request.data.get("duress_pin", "")
    if not (_PIN.match(safety) and _PIN.match(duress)):
        return Result(outcome="invalid")
    if safety == duress:
        return Result(outcome="same")
    if request.data.get("pins_forced") or people.pins_hidden(request.person_id):
        # Set under duress (see check_current_pin): what the phone calls the safety PIN cancels under duress.
        people.set_duress_pin(request.person_id, safety)
    else:
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
