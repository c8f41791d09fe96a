"""What a person registered: their consent and their trusted contacts."""

from __future__ import annotations

from dataclasses import dataclass

from store.crypto import Vault, lookup_hash, vault
from store.db import inserted_one, is_postgres
from store.models import Consent, Contact, Person
from store.sql import Statement

MAX_CONTACTS = 5


@dataclass(frozen=True)
class TrustedContact:
    position: int  # 1-based, as shown to the person
    phone: str
    name: str
    language: str | None


_LOCK_PERSON = Statement("SELECT pg_advisory_xact_lock({p})")


def has_consented(person_id: int) -> bool:
    return Consent.select().where(Consent.person == person_id).exists()


# Written, not built by peewee each time (see store/sql.py): building it cost a fifth of the hop that
# records consent.
_CONSENT = Statement(
    """INSERT INTO consent (person_id, text_version, agreed_at) VALUES ({p}, {p}, {p})
    ON CONFLICT (person_id) DO NOTHING"""
)


def record_consent(person_id: int, text_version: str, now: float) -> None:
    """Keeps which consent text the person agreed to, and when (the first agreement stands)."""
    _CONSENT.execute(person_id, text_version, now)


# Asked on every alert and many SMS: written once, not built by peewee each time (see store/sql.py).
_CONTACTS = Statement("SELECT phone, name, language FROM contact WHERE person_id = {p} ORDER BY added_at, id")
_LOCATION = Statement("SELECT location, location_updated_at FROM person WHERE id = {p}")
_NAME = Statement("SELECT name FROM person WHERE id = {p}")
_NATIONALITY = Statement("SELECT nationality FROM person WHERE id = {p}")


def contacts_of(person_id: int) -> list[TrustedContact]:
    """The person's contacts in the order they were added."""
    decrypt = vault().decrypt
    return [
        TrustedContact(n, decrypt(phone), decrypt(name), language)
        for n, (phone, name, language) in enumerate(_CONTACTS.execute(person_id).fetchall(), 1)
    ]


def count_contacts(person_id: int) -> int:
    return Contact.select().where(Contact.person == person_id).count()


def add_contact(person_id: int, phone: str, name: str, language: str | None, now: float) -> str:
    """'added', 'duplicate' (already a contact) or 'full' (MAX_CONTACTS reached)."""
    if is_postgres():
        _LOCK_PERSON.execute(person_id)  # two adds at once must not make six contacts
    if count_contacts(person_id) >= MAX_CONTACTS:
        return "full"
    added = inserted_one(
        Contact.insert(
            person=person_id, phone=phone, phone_hash=lookup_hash(phone), name=name, language=language, added_at=now
        ).on_conflict_ignore()
    )
    return "added" if added else "duplicate"


def remove_contact(person_id: int, position: int) -> TrustedContact | None:
    """Removes the contact at this position in the list; None if there is none."""
    contacts = contacts_of(person_id)
    if not 1 <= position <= len(contacts):
        return None
    gone = contacts[position - 1]
    Contact.delete().where((Contact.person == person_id) & (Contact.phone_hash == lookup_hash(gone.phone))).execute()
    return gone


def set_location(person_id: int, location: str, now: float) -> None:
    """The person's home location, as they gave it."""
    Person.update(location=location, location_updated_at=now).where(Person.id == person_id).execute()


def location_of(person_id: int) -> tuple[str, float] | None:
    """(location, when it was last updated), if the person gave one."""
    row = _LOCATION.one(person_id)
    if row is None or row[0] is None:
        return None
    location = vault().decrypt(row[0])
    return (location, row[1]) if location else None


def pin_hash(person_id: int, pin: str, keys: Vault | None = None) -> str:
    """A PIN as stored: keyed with the deployment secret and salted with the person, so the 10,000 PINs
    cannot be tried offline without the key."""
    return (keys or vault()).lookup_hash(f"pin:{person_id}:{pin}")


def set_pins(person_id: int, safety: str, duress: str) -> None:
    Person.update(
        safety_pin=pin_hash(person_id, safety), duress_pin=pin_hash(person_id, duress), pins_hidden_at=None
    ).where(Person.id == person_id).execute()


def set_duress_pin(person_id: int, pin: str) -> None:
    """PINs "set" under duress: the one given as the new safety PIN is the emergency PIN from now on; the real
    safety PIN stays. The phone is shown PINs again."""
    Person.update(duress_pin=pin_hash(person_id, pin), pins_hidden_at=None).where(Person.id == person_id).execute()


def remove_pins(person_id: int) -> None:
    """No PINs: cancelling an alert asks for none."""
    Person.update(safety_pin=None, duress_pin=None, pins_hidden_at=None).where(Person.id == person_id).execute()


def hide_pins(person_id: int, now: float) -> None:
    """PINs "removed" with the emergency PIN: the phone is shown none, and every cancel is under duress."""
    Person.update(pins_hidden_at=now).where(Person.id == person_id).execute()


def has_pins(person_id: int) -> bool:
    """PINs the phone knows of: a cancel asks for one."""
    person = Person.get_or_none(Person.id == person_id)
    return bool(person and person.safety_pin and person.pins_hidden_at is None)


def pins_hidden(person_id: int) -> bool:
    """The emergency PIN removed the PINs as far as the phone knows."""
    person = Person.get_or_none(Person.id == person_id)
    return bool(person and person.safety_pin and person.pins_hidden_at is not None)


def check_pin(person_id: int, pin: str) -> str:
    """'safety', 'duress' or 'wrong'."""
    person = Person.get_by_id(person_id)
    given = pin_hash(person_id, pin)
    if given == person.safety_pin:
        return "safety"
    if given == person.duress_pin:
        return "duress"
    return "wrong"


# Asked for every SMS (is an officer waiting for this person's answer?): written once, not built each time.
_PERSON_WITH_HASH = Statement("SELECT id FROM person WHERE phone_hash = {p}")


def person_with_number(phone: str) -> int | None:
    """The id of the person with this number, if they ever wrote or dialled."""
    row = _PERSON_WITH_HASH.one(lookup_hash(phone))
    return row[0] if row else None


def listed_as_contact(person_id: int, phone: str) -> bool:
    """True when the person registered this number as a trusted contact."""
    return Contact.select().where((Contact.person == person_id) & (Contact.phone_hash == lookup_hash(phone))).exists()


@dataclass(frozen=True)
class Lister:
    """Someone who registered a given number as a trusted contact."""

    person_id: int
    phone: str
    name: str | None


def people_who_listed(phone: str) -> list[Lister]:
    """Everyone who registered this number as a trusted contact, oldest first."""
    rows = (
        Person.select(Person.id, Person.phone, Person.name)
        .join(Contact, on=Contact.person == Person.id)
        .where(Contact.phone_hash == lookup_hash(phone))
        .order_by(Person.id)
    )
    return [Lister(row.id, row.phone, row.name) for row in rows]


def nationality_of(person_id: int | None) -> str | None:
    """The nationality the person chose (which consular network serves them), if any."""
    if person_id is None:
        return None
    row = _NATIONALITY.one(person_id)
    return row[0] if row else None


def set_nationality(person_id: int, nationality: str) -> None:
    Person.update(nationality=nationality).where(Person.id == person_id).execute()


def set_name(person_id: int, name: str) -> None:
    Person.update(name=name).where(Person.id == person_id).execute()


def name_of(person_id: int | None) -> str | None:
    row = _NAME.one(person_id) if person_id is not None else None
    return vault().decrypt(row[0]) if row and row[0] is not None else None
