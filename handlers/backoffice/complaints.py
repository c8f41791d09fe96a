"""Confidential complaints for focal points, feedback for supervisors: reading (audited) and answering by SMS."""

from __future__ import annotations

from handlers.outcome import Outgoing, Result
from store import audit, complaints
from store.complaints import Thread

MAX_ANSWER = 300


def read(kind: str, reference: str, email: str, now: float) -> Thread | None:
    """One thread; the read goes to the audit trail."""
    found = complaints.thread(kind, reference)
    if found is not None:
        audit.append(email, f"{kind}.view", found.reference, "", now)
    return found


def answer(kind: str, reference: str, email: str, text: str, now: float) -> Result:
    """The answer goes to the person by SMS through the outbox, and stays with the thread."""
    text = " ".join((text or "").split())[:MAX_ANSWER]
    if not text:
        return Result(outcome="empty")
    person = complaints.answer(kind, reference, email, text, now)
    audit.append(email, f"{kind}.answer", reference.upper(), f"{len(text)} characters", now)
    if person is None:
        return Result(outcome="unchanged")  # unknown, or the person erased themselves
    phone, language = person
    values = {"ref": reference.upper(), "reply": text}
    return Result(
        outcome="done",
        outgoing=(Outgoing(phone, "feedback.answer", values, language, tag=f"complaint:{reference.upper()}"),),
    )
