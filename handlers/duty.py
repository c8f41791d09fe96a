"""Duty officers answer alerts by SMS: OK A7K2, R A7K2 <text>, NOTA A7K2 <text>, CERRAR A7K2.

Only the duty, backup and central phones of the alert's consulate, and the phones its roster has on duty,
may act on it.
"""

from __future__ import annotations

import re

from handlers.consulates import Directory
from handlers.outcome import Outgoing, Request, Result
from store import alerts, roster

_COMMAND = re.compile(r"^\s*(OK|R|NOTA|NOTE|CERRAR|CLOSE)\s+([A-Za-z0-9]{4})\b\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL)
VERBS = {"OK": "ack", "R": "reply", "NOTA": "note", "NOTE": "note", "CERRAR": "close", "CLOSE": "close"}


def looks_like_command(text: str) -> bool:
    """A duty command's shape; whether the sender may give it is checked by `command`."""
    return _COMMAND.match(text) is not None


def command(request: Request, directory: Directory) -> Result:
    """Acknowledge, relay a reply to the person (without the officer's number), note, or close."""
    parsed = _COMMAND.match(request.data.get("duty_text", ""))
    if parsed is None:
        return Result(outcome="unknown")
    verb, reference, text = VERBS[parsed.group(1).upper()], parsed.group(2).upper(), parsed.group(3)
    alert = alerts.by_reference(reference)
    if alert is None or request.phone not in _phones_for(alert.consulate, directory, request.now):
        return Result(outcome="not_found", values={"ref": reference})
    values = {"ref": reference}
    person, language = alerts.phone_of_raiser(alert)
    if verb == "ack":
        first = alerts.acknowledge(alert, request.phone, request.now)
        told = (Outgoing(person, "alert.acknowledged", values, language),) if first else ()
        return Result(outcome="acknowledged", values=values, outgoing=told)
    if verb == "reply":
        if not text:
            return Result(outcome="empty", values=values)
        reply = Outgoing(person, "alert.reply", {**values, "reply": text}, language)
        return Result(outcome="relayed", values=values, outgoing=(reply,))
    if verb == "note":
        if not text:
            return Result(outcome="empty", values=values)
        alerts.add_note(alert, request.phone, text, request.now)
        return Result(outcome="noted", values=values)
    alerts.close(alert, request.now)
    return Result(outcome="closed", values=values)


def _phones_for(consulate_id: str, directory: Directory, now: float) -> set[str]:
    """Who may act on the consulate's alerts: its duty and backup phones, its roster now, the central."""
    consulate = directory.by_id(consulate_id)
    phones = set(directory.central_for(consulate_id).phones)
    if consulate is not None:
        phones |= set(consulate.duty_phones) | set(consulate.backup_phones) | set(roster.on_duty(consulate.id, now))
    return phones
