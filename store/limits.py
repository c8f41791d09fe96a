"""Daily limits counted by the keyed hash of the number that used them, so erasing a person does not
hand the number a fresh day. Nothing else about the person is kept, and only for a day."""

from __future__ import annotations

from store.crypto import lookup_hash
from store.models import LimitEvent
from store.sql import Statement

ALERT = "alert"  # a new alert (raised for oneself or for someone else)
DRILL = "drill"  # a practice alert
CONTACT = "contact"  # a trusted contact added (each is texted a notice)
PIN_WRONG = "pin_wrong"  # a wrong current PIN given to change or remove the PINs


# On every alert and contact added: written once, not built by peewee each time (see store/sql.py).
_USED = Statement("SELECT COUNT(*) FROM limit_event WHERE phone_hash = {p} AND kind = {p} AND at >= {p}")
_USE = Statement("INSERT INTO limit_event (phone_hash, kind, at) VALUES ({p}, {p}, {p})")


def used_since(phone: str, kind: str, since: float) -> int:
    """How many times this number used this limit since then."""
    return _USED.one(lookup_hash(phone), kind, since)[0]


def count_use(phone: str, kind: str, now: float) -> None:
    """One more use of this limit by this number."""
    _USE.execute(lookup_hash(phone), kind, now)


def forget_before(cutoff: float) -> int:
    """Deletes uses older than cutoff (no limit looks back further than a day); returns how many."""
    return LimitEvent.delete().where(LimitEvent.at < cutoff).execute()
