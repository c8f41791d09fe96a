"""Alerts: raised, updated by a repeat press, cancelled."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import peewee

from store.crypto import lookup_hash, vault
from store.models import Alert, AlertNote, AlertReply, Person
from store.sql import Statement

# Letters and digits nobody confuses on a small screen or reads wrongly over the phone:
# no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
REFERENCE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
REFERENCE_LENGTH = 4

OPEN, CANCELLED, CLOSED = "open", "cancelled", "closed"
DRILL = "drill"  # a practice alert: never open, never paged to a consulate


# Why an alert is under duress (Alert.duress_reason).
DURESS_PIN, PIN_TRIES, EARLIER = "pin", "tries", "earlier"


# An ALERTA asks these on every press: written once, not built by peewee each time (its SQL building cost
# several times the queries themselves; see store/sql.py).
# The person's newest alert in a status; {} says whether it was cancelled under duress.
_NEWEST = "SELECT * FROM alert WHERE person_id = {p} AND status = {p} AND duress_at {} ORDER BY created_at DESC LIMIT 1"
_OPEN = Statement(_NEWEST.replace("{}", "IS NULL"))
_OPEN_UNDER_DURESS = Statement(_NEWEST.replace("{}", "IS NOT NULL"))
_INSERT = Statement(
    """INSERT INTO alert (reference, person_id, status, note, consulate, contacts_told, created_at, updated_at,
        duress_reason)
    VALUES ({p}, {p}, {p}, {p}, {p}, 0, {p}, {p}, {p}) ON CONFLICT (reference) DO NOTHING RETURNING id"""
)
_TOLD = Statement("UPDATE alert SET contacts_told = {p} WHERE id = {p}")


def open_alert_of(person_id: int) -> Alert | None:
    """The person's alert that is open as their phone knows it: one cancelled under duress stays open for
    the consulate but, on the phone, is as cancelled as any other."""
    return next(iter(_OPEN.rows(Alert, person_id, OPEN)), None)


def open_under_duress(person_id: int) -> Alert | None:
    """The person's newest alert still open that their phone was shown as cancelled (under duress)."""
    return next(iter(_OPEN_UNDER_DURESS.rows(Alert, person_id, OPEN)), None)


def raise_alert(
    person_id: int,
    note: str | None,
    consulate: str,
    now: float,
    status: str = OPEN,
    duress_reason: str | None = None,
) -> Alert:
    """A new alert (open, or a drill) with a fresh short reference."""
    stored_note = vault().encrypt(note) if note is not None else None
    for _ in range(20):
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        row = _INSERT.one(reference, person_id, status, stored_note, consulate, now, now, duress_reason)
        if row is None:
            continue  # the reference is taken: another one
        return Alert(
            id=row[0],
            reference=reference,
            person=person_id,
            status=status,
            note=note,
            consulate=consulate,
            contacts_told=0,
            created_at=now,
            updated_at=now,
            duress_reason=duress_reason,
        )
    raise RuntimeError("no free alert reference after 20 tries")


def record_update(alert: Alert, note: str | None, update_sent: bool, now: float) -> None:
    """A repeat press: new free text, and whether an update went out."""
    changes = {Alert.updated_at: now}
    if note:
        changes[Alert.note] = note
    if update_sent:
        changes[Alert.update_sent_at] = now
    Alert.update(changes).where(Alert.id == alert.id).execute()


def record_told(alert: Alert, contacts: int) -> None:
    _TOLD.execute(contacts, alert.id)


def cancel(alert: Alert, now: float) -> None:
    Alert.update(status=CANCELLED, cancelled_at=now, updated_at=now).where(Alert.id == alert.id).execute()


def by_reference(reference: str) -> Alert | None:
    return Alert.get_or_none(Alert.reference == reference.upper())


def phone_of_raiser(alert: Alert) -> tuple[str | None, str | None]:
    """(number, chosen language) of the person who raised the alert; (None, None) once they erased
    themselves."""
    person = Person.get_or_none(Person.id == alert.person_id) if alert.person_id else None
    return (person.phone, person.language) if person else (None, None)


def references_of(person_id: int) -> list[str]:
    """The references of every alert (and drill) the person raised."""
    return [row.reference for row in Alert.select(Alert.reference).where(Alert.person == person_id)]


def acknowledge(alert: Alert, by_phone: str, now: float) -> bool:
    """Records the first acknowledgement; False if the alert was already acknowledged."""
    return bool(
        Alert.update(acknowledged_at=now, acknowledged_by=lookup_hash(by_phone), updated_at=now)
        .where((Alert.id == alert.id) & Alert.acknowledged_at.is_null())
        .execute()
    )


def add_note(alert: Alert, by_phone: str, text: str, now: float) -> None:
    AlertNote.create(alert=alert.id, author=lookup_hash(by_phone), text=text, written_at=now)


def close(alert: Alert, now: float) -> None:
    Alert.update(status=CLOSED, closed_at=now, updated_at=now).where(Alert.id == alert.id).execute()


def reopen(alert: Alert, now: float) -> bool:
    """A closed or cancelled case open again (REABRIR): the officers may act on it, the person may answer;
    False when it was open already."""
    return bool(
        Alert.update(status=OPEN, closed_at=None, cancelled_at=None, updated_at=now)
        .where((Alert.id == alert.id) & Alert.status.in_([CLOSED, CANCELLED]))
        .execute()
    )


def move_to(alert: Alert, consulate: str, now: float) -> None:
    """The alert now belongs to another office (the place the person gave is in its jurisdiction)."""
    Alert.update(consulate=consulate, updated_at=now).where(Alert.id == alert.id).execute()


def open_references(offices: list[str], limit: int) -> list[str]:
    """The references of the newest open alerts of these offices."""
    rows = (
        Alert.select(Alert.reference)
        .where((Alert.status == OPEN) & Alert.consulate.in_(offices))
        .order_by(Alert.created_at.desc())
        .limit(limit)
    )
    return [row.reference for row in rows]


def record_reply(alert: Alert, officer_phone: str, now: float) -> None:
    """An officer wrote to the person (R A7K2 ...): the person's answers go to them for a while."""
    AlertReply.create(alert=alert.id, officer=officer_phone, replied_at=now)


def awaiting_answer(person_id: int, since: float) -> tuple[Alert, str, float] | None:
    """(the person's open alert, the officer who wrote to them last, when) when an officer wrote since then."""
    row = (
        AlertReply.select(AlertReply, Alert)
        .join(Alert)
        .where(
            (Alert.person == person_id)
            & (Alert.status == OPEN)
            & Alert.duress_at.is_null()  # the phone was shown it cancelled: its texts are no answer
            & (AlertReply.replied_at >= since)
        )
        .order_by(AlertReply.replied_at.desc(), AlertReply.id.desc())
        .first()
    )
    return (row.alert, row.officer, row.replied_at) if row else None


# Asked for every SMS a known person sends: written once, not built each time.
_LAST_REPLY = Statement(
    """SELECT alert_reply.replied_at FROM alert_reply JOIN alert ON alert.id = alert_reply.alert_id
    WHERE alert.person_id = {p} AND alert.status = {p} AND alert.duress_at IS NULL AND alert_reply.replied_at >= {p}
    ORDER BY alert_reply.replied_at DESC, alert_reply.id DESC LIMIT 1"""
)


def last_officer_reply(person_id: int, since: float) -> float | None:
    """When an officer last wrote to the person, since then, about an alert still open (awaiting_answer's
    moment alone)."""
    row = _LAST_REPLY.one(person_id, OPEN, since)
    return float(row[0]) if row else None


def add_answer(alert: Alert, person_phone: str, text: str, now: float) -> None:
    """The person's answer to their consulate, kept with the case (erased with the person)."""
    AlertNote.create(alert=alert.id, author=lookup_hash(person_phone), text=text, written_at=now)


def due_for_escalation(now: float, after_seconds: float) -> list[Alert]:
    """Open alerts nobody acknowledged within after_seconds, not yet escalated."""
    return list(
        Alert.select().where(
            (Alert.status == OPEN)
            & Alert.acknowledged_at.is_null()
            & Alert.escalated_at.is_null()
            & (Alert.created_at <= now - after_seconds)
        )
    )


def mark_escalated(alert: Alert, now: float) -> bool:
    """Claims the escalation once, even with several server processes."""
    return bool(Alert.update(escalated_at=now).where((Alert.id == alert.id) & Alert.escalated_at.is_null()).execute())


def set_location(alert: Alert, location: str, now: float) -> None:
    Alert.update(location=location, updated_at=now).where(Alert.id == alert.id).execute()


def summaries_due(now: float, after_seconds: float, within_seconds: float) -> list[Alert]:
    """Alerts raised between within_seconds and after_seconds ago whose person has not had the delivery
    summary: where carriers send no reports, it is written from what is known."""
    return list(
        Alert.select().where(
            (Alert.status != DRILL)
            & Alert.person.is_null(False)
            & Alert.followup_sent_at.is_null()
            & (Alert.created_at <= now - after_seconds)
            & (Alert.created_at > now - after_seconds - within_seconds)
        )
    )


def claim_followup(alert: Alert, now: float) -> bool:
    """True the first time only: the person gets one delivery summary."""
    return bool(
        Alert.update(followup_sent_at=now).where((Alert.id == alert.id) & Alert.followup_sent_at.is_null()).execute()
    )


def record_duress(alert: Alert, reason: str, now: float) -> None:
    """The alert stays open for the consulate, which knows the cancel may have been forced; the phone sees
    it cancelled."""
    Alert.update(duress_at=now, duress_reason=reason, updated_at=now).where(Alert.id == alert.id).execute()


def under_duress(alert: Alert) -> bool:
    """Open, but shown as cancelled on the person's phone: nothing about it may reach that phone."""
    return alert.status == OPEN and alert.duress_at is not None


# -- the officials' desk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskAlert:
    """An alert as the desk lists it: what officials need to act, the person's data kept apart."""

    reference: str
    status: str
    consulate: str
    created_at: float
    acknowledged_at: float | None
    escalated_at: float | None
    closed_at: float | None
    cancelled_at: float | None
    duress_at: float | None
    duress_reason: str | None  # DURESS_PIN, PIN_TRIES, EARLIER, or None
    phone: str | None  # the person's number and name; None once they erased themselves
    name: str | None
    note: str | None
    location: str | None
    acknowledged_by: str | None  # keyed hash of who acknowledged


def _desk(row: Alert, person: Person | None) -> DeskAlert:
    return DeskAlert(
        row.reference,
        row.status,
        row.consulate,
        row.created_at,
        row.acknowledged_at,
        row.escalated_at,
        row.closed_at,
        row.cancelled_at,
        row.duress_at,
        row.duress_reason,
        person.phone if person else None,
        person.name if person else None,
        row.note,
        row.location,
        row.acknowledged_by,
    )


def open_for_desk(consulates: tuple[str, ...] | None, limit: int = 500) -> list[DeskAlert]:
    """Open alerts, newest first, of these consulates (None: every consulate and central)."""
    query = (
        Alert.select(Alert, Person)
        .join(Person, join_type=peewee.JOIN.LEFT_OUTER, on=(Alert.person == Person.id))
        .where(Alert.status == OPEN)
        .order_by(Alert.created_at.desc())
        .limit(limit)
    )
    if consulates is not None:
        query = query.where(Alert.consulate.in_(consulates))
    return [_desk(row, row.person if row.person_id else None) for row in query]


def for_desk(reference: str) -> DeskAlert | None:
    row = Alert.get_or_none(Alert.reference == reference.upper())
    if row is None:
        return None
    person = Person.get_or_none(Person.id == row.person_id) if row.person_id else None
    return _desk(row, person)


@dataclass(frozen=True)
class Note:
    author: str  # keyed hash of the duty phone or console account
    text: str
    written_at: float


def notes_of(reference: str) -> list[Note]:
    query = AlertNote.select().join(Alert).where(Alert.reference == reference.upper()).order_by(AlertNote.written_at)
    return [Note(row.author, row.text, row.written_at) for row in query]


def listed(
    status: str | None,
    consulates: tuple[str, ...] | None,
    since: float | None,
    until: float | None,
    before_id: int | None,
    limit: int,
) -> list[tuple[int, DeskAlert]]:
    """Alerts newest first, filtered, after a cursor (the last id of the page before): (id, alert)."""
    query = (
        Alert.select(Alert, Person)
        .join(Person, join_type=peewee.JOIN.LEFT_OUTER, on=(Alert.person == Person.id))
        .where(Alert.status != DRILL)
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Alert.status == status)
    if consulates is not None:
        query = query.where(Alert.consulate.in_(consulates))
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if until is not None:
        query = query.where(Alert.created_at < until)
    if before_id is not None:
        query = query.where(Alert.id < before_id)
    return [(row.id, _desk(row, row.person if row.person_id else None)) for row in query]
