"""Duty officers answer alerts by SMS: OK A7K2, R A7K2 <text>, NOTA A7K2 <text>, CERRAR A7K2 (the words are
menus/keywords.yaml's `duty_commands`).

Only the duty, backup and central phones of the alert's consulate, and the phones its roster has on duty,
may act on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Directory
from store import alerts, roster

ACK, REPLY, NOTE, CLOSE = "ack", "reply", "note", "close"


@dataclass(frozen=True)
class Command:
    verb: str  # ACK, REPLY, NOTE or CLOSE
    reference: str  # the alert's, upper case
    text: str  # what follows the reference


class CommandWords:
    """Reads an officer's text with the deployment's words for each verb."""

    def __init__(self, words: Mapping[str, tuple[str, ...]]):
        self._verb_of = {word.upper(): verb for verb, aliases in words.items() for word in aliases}
        # Longest word first, so a word that starts another is never taken for it.
        alternatives = "|".join(re.escape(w) for w in sorted(self._verb_of, key=len, reverse=True))
        self._pattern = (
            re.compile(rf"^\s*({alternatives})\s+([A-Za-z0-9]{{4}})\b\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL)
            if alternatives
            else None
        )

    def parse(self, text: str) -> Command | None:
        """The command a text gives, by its shape; whether the sender may give it is checked by `command`."""
        found = self._pattern.match(text) if self._pattern else None
        if found is None:
            return None
        return Command(self._verb_of[found.group(1).upper()], found.group(2).upper(), found.group(3))


def command(request: Request, directory: Directory, words: CommandWords) -> Result:
    """Acknowledge, relay a reply to the person (without the officer's number), note, or close."""
    parsed = words.parse(request.data.get("duty_text", ""))
    if parsed is None:
        return Result(outcome="unknown")
    reference, text = parsed.reference, parsed.text
    alert = alerts.by_reference(reference)
    if alert is None or request.phone not in _phones_for(alert.consulate, directory, request.now):
        return Result(outcome="not_found", values={"ref": reference})
    values = {"ref": reference}
    person, language = alerts.phone_of_raiser(alert)
    if parsed.verb == ACK:
        first = alerts.acknowledge(alert, request.phone, request.now)
        # What the consulate says to a person in crisis outlives a carrier outage, like the relays.
        told = (Outgoing(person, "alert.acknowledged", values, language, urgent=True),) if first else ()
        return Result(outcome="acknowledged", values=values, outgoing=told)
    if parsed.verb == REPLY:
        if not text:
            return Result(outcome="empty", values=values)
        reply = Outgoing(person, "alert.reply", {**values, "reply": text}, language, urgent=True)
        return Result(outcome="relayed", values=values, outgoing=(reply,))
    if parsed.verb == NOTE:
        if not text:
            return Result(outcome="empty", values=values)
        alerts.add_note(alert, request.phone, text, request.now)
        return Result(outcome="noted", values=values)
    alerts.close(alert, request.now)
    return Result(outcome="closed", values=values)


def on_roster(phone: str, now: float) -> bool:
    """A phone an administrator put on a consulate's duty roster for now."""
    return roster.is_on_duty(phone, now)


def _phones_for(consulate_id: str, directory: Directory, now: float) -> set[str]:
    """Who may act on the consulate's alerts: its duty and backup phones, its roster now, the central."""
    consulate = directory.by_id(consulate_id)
    phones = set(directory.central_for(consulate_id).phones)
    if consulate is not None:
        phones |= set(consulate.duty_phones) | set(consulate.backup_phones) | set(roster.on_duty(consulate.id, now))
    return phones
