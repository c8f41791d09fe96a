"""Consent and trusted contacts: who is told when the person raises an alert."""

from __future__ import annotations

import re
from dataclasses import replace

from handlers.lifeline import alerts
from handlers.lifeline.limits import DAY, Limits
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Directory
from handlers.reference.numbers import Typed, read_typed, region_of
from handlers.reference.vocabulary import Vocabulary
from store import limits as limit_uses
from store import outbox, people

# The consent text shown is templates' consent.body; bump this when its meaning changes.
CONSENT_VERSION = "2026-11-2"  # 2: appointments named
MAX_NAME = 40
# The last line of "which country?": the number belongs to none of those shown.
OTHER = "other"

# "+1 713 555 0142 Maria", "713-555-0142 Maria Lopez"
_NUMBER_THEN_NAME = re.compile(r"^\s*(\+?[\d][\d\s().-]{5,}\d)\s+(.+?)\s*$")
_REMOVE = re.compile(r"^\s*(?:BORRAR|QUITAR|DELETE|REMOVE)\s+(\d+)\s*$", re.IGNORECASE)


def record_consent(request: Request) -> Result:
    """The person agreed; what they asked for before agreeing (a contact, a location) goes on."""
    people.record_consent(request.person_id, CONSENT_VERSION, request.now)
    if request.args.get("then"):  # asked by a screen that knows where to go on (a booking's confirmation)
        return Result(outcome=request.args["then"])
    if request.data.get("contact_text"):
        return Result(outcome="command")
    if request.data.get("location"):
        return Result(outcome="location")
    if request.data.get("name"):
        return Result(outcome="name")
    if request.data.get("nationality"):
        return Result(outcome="nationality")
    return Result(outcome="ok")


# Marks a contact a text will not reach (they sent STOP, or the last text to them failed).
NO_SMS = "*"


def list_contacts(request: Request) -> Result:
    """The contacts, numbered; those a text will not reach marked, and the mark explained."""
    contacts = people.contacts_of(request.person_id)
    if not contacts:
        return Result(outcome="empty")
    unreachable = outbox.unreachable([c.phone for c in contacts])
    lines = "\n".join(_line(c, c.phone in unreachable) for c in contacts)
    return Result(outcome="listed", values={"contacts": lines, "no_sms": NO_SMS if unreachable else ""})


# On the screen asking which contact to remove, five numbered names and the question fit one USSD screen.
CHOICE_NAME = 16
CHOICE_NAME_WITH_DIGITS = 12  # two contacts with the same name: the last digits of their numbers tell them apart


def list_choices(request: Request) -> Result:
    """The contacts as a short numbered list of names, for the question which one to remove."""
    contacts = people.contacts_of(request.person_id)
    if not contacts:
        return Result(outcome="empty")
    shown = [contact.name[:CHOICE_NAME].strip() for contact in contacts]
    lines = [
        f"{c.position} {name}"
        if shown.count(name) == 1
        else f"{c.position} {name[:CHOICE_NAME_WITH_DIGITS].strip()} ({c.phone[-4:]})"
        for c, name in zip(contacts, shown, strict=True)
    ]
    return Result(outcome="listed", values={"contact_choices": "\n".join(lines)})


def _line(contact: people.TrustedContact, unreachable: bool) -> str:
    parts = (str(contact.position), contact.name, contact.phone, (contact.language or "").upper(), NO_SMS * unreachable)
    return " ".join(part for part in parts if part)


def add_contact(
    request: Request, limits: Limits, directory: Directory | None, vocabulary: Vocabulary | None = None
) -> Result:
    """Adds the number and name the flow collected; the contact is told once who added them."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    language = request.args.get("language") or request.language
    phone, name = request.data["contact_phone"], request.data["contact_name"]
    return _add(request, phone, name, language, limits, directory, vocabulary)


def read_phone(request: Request, directory: Directory | None, vocabulary: Vocabulary) -> Result:
    """The number typed on the contact screen: read, or its country asked when it may be more than one."""
    typed = _read(request.data.get("contact_typed", ""), request, directory)
    if not typed.numbers:
        return Result(outcome="invalid")
    if typed.certain:
        return Result(outcome="read", values={"contact_phone": typed.numbers[0]})
    return Result(outcome="ambiguous", values=_countries_offered(typed, request.language, vocabulary))


def pick_country(request: Request) -> Result:
    """The country picked for the typed number; the last choice is "another country"."""
    picked = _picked(request)
    if picked in (None, OTHER):
        return Result(outcome=picked or "invalid")
    return Result(outcome="read", values={"contact_phone": picked})


def sms_country(request: Request, limits: Limits, directory: Directory | None, vocabulary: Vocabulary) -> Result:
    """The reply to "which country?" after FAMILIA <number> <name>: the contact is added with that number."""
    picked = _picked(request)
    if picked in (None, OTHER):
        return Result(outcome=picked or "invalid")
    name, language = request.data.get("contact_name", ""), request.data.get("contact_language") or request.language
    return _add(request, picked, name, language, limits, directory, vocabulary)


def _read(text: str, request: Request, directory: Directory | None) -> Typed:
    """The numbers typed text may be: in the person's country, where the consulates are, or a nationality's."""
    countries = (*directory.host_countries, *directory.nationalities) if directory else ()
    return read_typed(text, request.region, countries)


def _countries_offered(typed: Typed, language: str, vocabulary: Vocabulary) -> dict[str, str]:
    """ "1 Estados Unidos +17135550142", one line per country, and the number that stands for another country."""
    names = [vocabulary.country(region_of(number) or "", language) for number in typed.numbers]
    lines = [f"{n} {name} {number}" for n, (name, number) in enumerate(zip(names, typed.numbers, strict=True), 1)]
    return {"choices": "\n".join(lines), "other": str(len(lines) + 1), "contact_numbers": ",".join(typed.numbers)}


def _picked(request: Request) -> str | None:
    """The number whose country's line was picked, OTHER for the last line, None for a line not shown."""
    numbers = request.data.get("contact_numbers", "").split(",")
    choice = request.data.get("country_choice", "").strip()
    if choice == str(len(numbers) + 1):
        return OTHER
    if not (choice.isascii() and choice.isdigit()) or not 1 <= int(choice) <= len(numbers):
        return None
    return numbers[int(choice) - 1] or None


def remove_contact(request: Request) -> Result:
    number = request.data.get("contact_number", "")
    gone = people.remove_contact(request.person_id, int(number)) if number.isdigit() else None
    if gone is None:
        return Result(outcome="missing")
    return Result(outcome="removed", values={"removed_name": gone.name})


def sms_command(request: Request, limits: Limits, vocabulary: Vocabulary, directory: Directory | None) -> Result:
    """FAMILIA (list), FAMILIA +1 713 555 0142 Maria [EN] (add), FAMILIA BORRAR 2 (remove); a number that may
    be more than one country's is answered with the question which."""
    text = request.data.get("contact_text", "").strip()
    if not text:
        return list_contacts(request)
    removal = _REMOVE.match(text)
    if removal:
        return remove_contact(_with(request, contact_number=removal.group(1)))
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    entry = _NUMBER_THEN_NAME.match(text)
    typed = _read(entry.group(1), request, directory) if entry else Typed()
    if not typed.numbers:
        return Result(outcome="invalid")
    name, language = _name_and_language(entry.group(2), request, vocabulary)
    if typed.certain:
        return _add(request, typed.numbers[0], name, language, limits, directory, vocabulary)
    offered = _countries_offered(typed, request.language, vocabulary)
    name = " ".join(name.split())[:MAX_NAME]
    return Result(outcome="ambiguous", values={**offered, "contact_name": name, "contact_language": language})


def _name_and_language(text: str, request: Request, vocabulary: Vocabulary) -> tuple[str, str]:
    """ "Maria EN" / "Maria ingles": a last word naming a language is the contact's; else the person's own."""
    words = text.split()
    language = vocabulary.language_named(words[-1]) if len(words) > 1 else None
    if language:
        return " ".join(words[:-1]), language
    return text, request.language


def _add(
    request: Request,
    phone: str,
    name: str,
    language: str,
    limits: Limits,
    directory: Directory | None,
    vocabulary: Vocabulary | None,
) -> Result:
    name = " ".join(name.split())[:MAX_NAME]
    if phone == request.phone:
        return Result(outcome="invalid")
    # Counted by the notices sent, so neither removing and adding again nor erasing gets round it.
    if limit_uses.used_since(request.phone, limit_uses.CONTACT, request.now - DAY) >= limits.contacts_added_per_day:
        return Result(outcome="limited")
    outcome = people.add_contact(request.person_id, phone, name, language, request.now)
    values = {"contact_name": name}
    if outcome != "added":
        return Result(outcome=outcome, values=values)
    limit_uses.count_use(request.phone, limit_uses.CONTACT, request.now)
    # Their name, when they gave one: a bare number from a stranger invites STOP.
    notice = Outgoing(phone, "contacts.notice", {"who": alerts.who(request.person_id, request.phone)}, language)
    # Added while an alert is open: the alert reaches them at once, after the notice.
    relays = alerts.to_new_contact(request.person_id, request.phone, phone, language, directory, vocabulary)
    return Result(outcome="added", values=values, outgoing=(notice, *relays))


def _with(request: Request, **data: str) -> Request:
    return replace(request, data={**request.data, **data})
