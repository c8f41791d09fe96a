"""Feedback and confidential complaints: named queries returning plain values."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import peewee

from store.models import Complaint, ComplaintMessage, Person

# Starts with Q so a person tells it from an alert's reference; no 0/O, 1/I look-alikes.
ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
COMPLAINT, FEEDBACK = "complaint", "feedback"


@dataclass(frozen=True)
class Message:
    author: str
    text: str
    written_at: float


@dataclass(frozen=True)
class Thread:
    reference: str
    kind: str
    status: str
    created_at: float
    updated_at: float
    messages: tuple[Message, ...]


def open_new(person_id: int | None, kind: str, text: str, now: float) -> str:
    """A new complaint or feedback with its first message; its reference."""
    for _ in range(20):
        reference = "Q" + "".join(secrets.choice(ALPHABET) for _ in range(4))
        try:
            with Complaint._meta.database.atomic():
                row = Complaint.create(reference=reference, kind=kind, person=person_id, created_at=now, updated_at=now)
        except peewee.IntegrityError:
            continue
        ComplaintMessage.create(complaint=row.id, author="person", text=text, written_at=now)
        return reference
    raise RuntimeError("no free complaint reference after 20 tries")


def add_from_person(person_id: int, reference: str, text: str, now: float) -> str | None:
    """Adds to one of the person's own complaints; its kind, or None when they have none with that reference."""
    row = Complaint.get_or_none((Complaint.reference == reference.upper()) & (Complaint.person == person_id))
    if row is None:
        return None
    ComplaintMessage.create(complaint=row.id, author="person", text=text, written_at=now)
    Complaint.update(status="open", updated_at=now).where(Complaint.id == row.id).execute()
    return row.kind


def threads(kind: str, limit: int = 200) -> list[Thread]:
    """The newest threads of one kind."""
    rows = list(Complaint.select().where(Complaint.kind == kind).order_by(Complaint.updated_at.desc()).limit(limit))
    return [_thread(row) for row in rows]


def thread(kind: str, reference: str) -> Thread | None:
    row = Complaint.get_or_none((Complaint.reference == reference.upper()) & (Complaint.kind == kind))
    return _thread(row) if row else None


def _thread(row: Complaint) -> Thread:
    messages = ComplaintMessage.select().where(ComplaintMessage.complaint == row.id).order_by(ComplaintMessage.id)
    return Thread(
        row.reference,
        row.kind,
        row.status,
        row.created_at,
        row.updated_at,
        tuple(Message(m.author, m.text, m.written_at) for m in messages),
    )


def answer(kind: str, reference: str, author: str, text: str, now: float) -> tuple[str, str | None] | None:
    """A focal point's answer: (the person's number, their language) to send it to; None when unknown or
    the person erased themselves."""
    row = Complaint.get_or_none((Complaint.reference == reference.upper()) & (Complaint.kind == kind))
    if row is None:
        return None
    ComplaintMessage.create(complaint=row.id, author=author, text=text, written_at=now)
    Complaint.update(status="answered", updated_at=now).where(Complaint.id == row.id).execute()
    person = Person.get_or_none(Person.id == row.person_id) if row.person_id else None
    return (person.phone, person.language) if person else None


def counts() -> dict[str, int]:
    """Open threads of each kind (for the dashboard: counts only)."""
    query = (
        Complaint.select(Complaint.kind, peewee.fn.COUNT(Complaint.id).alias("n"))
        .where(Complaint.status == "open")
        .group_by(Complaint.kind)
    )
    return {row.kind: row.n for row in query}


def erase_person(person_id: int) -> int:
    """A person's erasure takes their complaints and feedback with it."""
    return Complaint.delete().where(Complaint.person == person_id).execute()
