"""Duty officers answer alerts by SMS: OK A7K2, R A7K2 <text>, NOTA A7K2 <text>, CERRAR A7K2, REABRIR A7K2
(the words are menus/keywords.yaml's `duty_commands`). Anything else from a duty phone gets the officers'
short help with their open references.

Only the duty, backup and central phones of the alert's consulate, the phones its roster has on duty, and
the consulate phones its relays reached may act on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from handlers.lifeline.alerts import OPEN_SHOWN, later_tag_of, news, relay, tag_of, who
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Directory
from store import alerts, outbox, roster

ACK, REPLY, NOTE, CLOSE, REOPEN = "ack", "reply", "note", "close", "reopen"
# What officers type between the word and the reference: "OK A7K2", "Ok, a7k2", "R: A7K2".
_BETWEEN = r"[\s,.:;!\-]+"


@dataclass(frozen=True)
class Command:
    verb: str  # ACK, REPLY, NOTE, CLOSE or REOPEN
    reference: str  # the alert's, upper case
    text: str  # what follows the reference


class CommandWords:
    """Reads an officer's text with the deployment's words for each verb."""

    def __init__(self, words: Mapping[str, tuple[str, ...]]):
        self._verb_of = {word.upper(): verb for verb, aliases in words.items() for word in aliases}
        # Longest word first, so a word that starts another is never taken for it.
        alternatives = "|".join(re.escape(w) for w in sorted(self._verb_of, key=len, reverse=True))
        self._pattern = (
            re.compile(
                rf"^\s*({alternatives}){_BETWEEN}([A-Za-z0-9]{{4}})\b[\s,.:;!\-]*(.*?)\s*$", re.IGNORECASE | re.DOTALL
            )
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
    """Acknowledge, relay a reply to the person (without the officer's number), note, close or reopen; the
    officers' help for anything else. Everyone told about the alert hears the acknowledgement and the close."""
    parsed = words.parse(request.data.get("duty_text", ""))
    open_references = ", ".join(alerts.open_references(_offices_of(request.phone, directory, request.now), OPEN_SHOWN))
    if parsed is None:
        return Result(outcome="help", values={"open": open_references})
    reference, text = parsed.reference, parsed.text
    alert = alerts.by_reference(reference)
    if alert is None or alert.status == alerts.DRILL or request.phone not in _phones_for(alert, directory, request.now):
        return Result(outcome="not_found", values={"ref": reference, "open": open_references})
    values = {"ref": reference}
    if alert.status != alerts.OPEN and parsed.verb not in (NOTE, REOPEN):
        return Result(outcome="closed_case", values=values)
    if parsed.verb == REOPEN:
        alerts.reopen(alert, request.now)
        return Result(outcome="reopened", values=values)
    if parsed.verb == NOTE:
        if not text:
            return Result(outcome="empty", values=values)
        alerts.add_note(alert, request.phone, text, request.now)
        return Result(outcome="noted", values=values)
    # None once the person erased themselves: the case goes on between officers, nobody writes to them.
    person, language = alerts.phone_of_raiser(alert)
    told = {**values, "who": who(alert.person_id, person) if person else ""}
    later = later_tag_of(reference)
    # Cancelled under duress: the phone was shown a cancelled alert, and whoever holds it must go on
    # seeing exactly that. The officers and the family still hear everything.
    to_person = () if person is None or alerts.under_duress(alert) else (person,)
    if parsed.verb == ACK:
        if not alerts.acknowledge(alert, request.phone, request.now):
            return Result(outcome="acknowledged", values=values)  # told once, by the first
        keys = ("alert.ack_contact", "alert.ack_duty")
        outgoing = (
            # What the consulate says to a person in crisis outlives a carrier outage, like the relays.
            *(Outgoing(p, "alert.acknowledged", values, language, later, urgent=True) for p in to_person),
            *news(alert, directory, request.now, keys, told, but=request.phone),
        )
        return Result(outcome="acknowledged", values=values, outgoing=outgoing)
    if parsed.verb == REPLY:
        if not text:
            return Result(outcome="empty", values=values)
        if person is None:
            return Result(outcome="erased", values=values)
        if not to_person:
            return Result(outcome="duress", values=values)
        alerts.record_reply(alert, request.phone, request.now)  # the person's answer comes back to this phone
        # Tagged with the alert, so the officials' desk shows it in the case's timeline.
        reply = relay(person, "alert.reply", {**values, "reply": text}, language, later_tag_of(reference))
        return Result(outcome="relayed", values=values, outgoing=(reply,))
    outbox.withdraw(tag_of(reference), request.now)  # what has not left yet is no longer news
    keys = ("alert.closed_contact", "alert.closed_duty")
    outgoing = (
        *(Outgoing(p, "alert.closed_person", values, language, later, urgent=True) for p in to_person),
        *news(alert, directory, request.now, keys, told, but=request.phone),
    )
    alerts.close(alert, request.now)
    return Result(outcome="closed", values=values, outgoing=outgoing)


def on_roster(phone: str, now: float) -> bool:
    """A phone an administrator put on a consulate's duty roster for now."""
    return roster.is_on_duty(phone, now)


def _phones_for(alert, directory: Directory, now: float) -> set[str]:
    """Who may act on an alert: its consulate's duty and backup phones, its roster now, the central, and
    the consulate phones its relays reached (the office first paged, before a location moved it)."""
    consulate = directory.by_id(alert.consulate)
    phones = set(directory.central_for(alert.consulate).phones)
    if consulate is not None:
        phones |= set(consulate.duty_phones) | set(consulate.backup_phones) | set(roster.on_duty(consulate.id, now))
    return phones | (set(outbox.recipients_told(tag_of(alert.reference))) & directory.duty_phones())


def _offices_of(phone: str, directory: Directory, now: float) -> list[str]:
    """The offices whose alerts a phone answers: its consulates (and roster), every office of a central's
    network."""
    offices = dict.fromkeys(roster.consulates_of(phone, now))
    for network in directory.networks:
        if phone in network.central.phones:
            offices.update(dict.fromkeys([network.central.id, *(c.id for c in network.consulates)]))
        for consulate in network.consulates:
            if phone in consulate.duty_phones or phone in consulate.backup_phones:
                offices[consulate.id] = None
    return list(offices)
