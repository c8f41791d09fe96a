"""Which key the database was written with: its fingerprint is recorded once, and every start compares."""

from __future__ import annotations

from store.crypto import Undecryptable, vault
from store.models import Contact, KeyFingerprint, OutboxMessage, Person

_ROW = 1  # the table holds one row


class KeyMismatch(Exception):
    """The open key is not the one this database was written with."""

    def __init__(self, stored: str | None, given: str):
        self.stored = stored
        self.given = given
        if stored:
            text = (
                f"does not match the key this database was written with "
                f"(fingerprint {stored[:12]}, this key's {given[:12]})"
            )
        else:
            text = f"cannot read the data in this database: it was written with another key (this key's {given[:12]})"
        super().__init__(text)


def recorded() -> str | None:
    """The fingerprint of the key this database was written with; None for a database without one yet."""
    if not KeyFingerprint.table_exists():
        return None
    row = KeyFingerprint.get_or_none(KeyFingerprint.id == _ROW)
    return row.fingerprint if row else None


def verify(now: float) -> None:
    """Records the open key's fingerprint in a database that has none; raises KeyMismatch when the
    database was written with another key."""
    given = vault().fingerprint
    stored = recorded()
    if stored is None:
        # A database from before fingerprints: the key is the right one if what is stored reads.
        if not _stored_data_reads():
            raise KeyMismatch(None, given)
        KeyFingerprint.insert(id=_ROW, fingerprint=given, recorded_at=now).on_conflict_ignore().execute()
        stored = recorded()  # a process starting at the same moment may have recorded its key first
    if stored != given:
        raise KeyMismatch(stored, given)


def replace(fingerprint: str, now: float) -> None:
    """The database is now written with another key (run.py rotate-key)."""
    KeyFingerprint.update(fingerprint=fingerprint, recorded_at=now).where(KeyFingerprint.id == _ROW).execute()


def _stored_data_reads() -> bool:
    """True when the first stored number (of a person, else a contact, else an outgoing SMS) decrypts,
    or when nothing is stored yet."""
    for field in (Person.phone, Contact.phone, OutboxMessage.to):
        query = field.model.select(field).order_by(field.model.id).limit(1)
        try:
            if query.exists():
                query.get()
                return True
        except Undecryptable:
            return False
    return True
