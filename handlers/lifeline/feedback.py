"""QUEJA / COMENTARIO (COMPLAINT / FEEDBACK): a confidential complaint, read only by focal points, or
feedback, read by supervisors. The person gets a reference and adds to it by sending it again with text."""

from __future__ import annotations

import re

from handlers.outcome import Request, Result
from store import complaints

MAX_TEXT = 1000
_REFERENCE_FIRST = re.compile(r"^\s*(Q[A-Z0-9]{4})\b[\s:,.-]*(.*)$", re.IGNORECASE | re.DOTALL)


def submit(request: Request, kind: str) -> Result:
    """Files the text typed after the keyword (or on the screen): a new thread, or more for one of theirs."""
    text = " ".join(request.data.get("feedback_text", "").split())[:MAX_TEXT]
    if not text:
        return Result(outcome="ask")
    added = _REFERENCE_FIRST.match(text)
    if added and added.group(2):
        found = complaints.add_from_person(request.person_id, added.group(1), added.group(2), request.now)
        if found is not None:
            return Result(outcome="added", values={"ref": added.group(1).upper()})
    reference = complaints.open_new(request.person_id, kind, text, request.now)
    return Result(outcome="received", values={"ref": reference})
