"""The person's right to erasure (BORRAR / DELETE)."""

from __future__ import annotations

from handlers.lifeline.alerts import later_tag_of, office_of, paged, tag_of, told_about
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Directory, local_datetime
from store import alerts, erasure


def erase(request: Request, directory: Directory | None) -> Result:
    """Erases everything about the person at once, in what was sent about them too; past alerts stay with
    the consulate, anonymised.

    An open alert does not vanish with the person: the erasure may be forced (a phone taken, "delete it
    all"), and a relay about it may still be waiting to leave (its countdown, a carrier outage). Its
    relays are withdrawn with the rest, since they carry the number, name, note and place the person asked
    to erase; instead every consulate phone told or about to be told, and those on duty now, get one
    urgent notice with the reference and the time only, and the alert stays open on the desk until an
    officer closes it.
    """
    current = alerts.open_alert_of(request.person_id)
    notices: list[Outgoing] = []
    if current is not None and directory is not None:
        office = office_of(directory, current.consulate)
        told = [r.phone for r in told_about(current, directory, request.now) if r.officer]
        values = {"ref": current.reference, "when": local_datetime(office, current.created_at)}
        notices = [
            Outgoing(phone, "alert.erased_duty", values, tag=later_tag_of(current.reference), urgent=True)
            for phone in dict.fromkeys([*told, *paged(office, request.now)])
        ]
    tags = tuple(tag for ref in alerts.references_of(request.person_id) for tag in (tag_of(ref), later_tag_of(ref)))
    erasure.erase_person(request.person_id, request.now, tags)
    return Result(outcome="erased", outgoing=tuple(notices), forget_sender=True)


def decline(request: Request) -> Result:
    """Consent declined: someone with no alert, appointment or complaint here is forgotten at once, number
    included, like BORRAR; otherwise what they have (an alert sent without consent) stays theirs to erase."""
    if erasure.holds_records(request.person_id):
        return Result(outcome="declined")
    erasure.erase_person(request.person_id, request.now)
    return Result(outcome="declined", forget_sender=True)
