"""Daily limits counted by the keyed hash of the number that used them, so erasing a person does not
hand the number a fresh day. Nothing else about the person is kept, and only for a day."""

from __future__ import annotations

from store.crypto import lookup_hash
from store.models import LimitEvent

ALERT = "alert"  # a new alert (raised for oneself or for someone else)
DRILL = "drill"  # a practice alert
CONTACT = "contact"  # a trusted contact added (each is texted a notice)
PIN_WRONG = "pin_wrong"  # a wrong current PIN given to change or remove the PINs


def used_since(phone: str, kind: str, since: float) -> int:
    """How many times this number used this limit since then."""
    return (
        LimitEvent.select()
        .where((LimitEvent.phone_hash == lookup_hash(phone)) & (LimitEvent.kind == kind) & (LimitEvent.at >= since))
        .count()
    )


def count_use(phone: str, kind: str, now: float) -> None:
    """One more use of this limit by this number."""
    LimitEvent.create(phone_hash=lookup_hash(phone), kind=kind, at=now)


def forget_before(cutoff: float) -> int:
    """Deletes uses older than cutoff (no limit looks back further than a day); returns how many."""
    return LimitEvent.delete().where(LimitEvent.at < cutoff).execute()
