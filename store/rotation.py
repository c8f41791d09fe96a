"""Re-encrypting the store with a new key (run.py rotate-key), in the caller's one transaction: every
encrypted column, every keyed hash that can be computed again from what is stored, and the fingerprint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from store import fingerprint, outbox
from store.crypto import EncryptedField, Undecryptable, Vault, is_current
from store.db import database, is_postgres
from store.inbound import seen_digest
from store.models import MODELS, OutboxMessage
from store.people import pin_hash

PINS = [f"{n:04d}" for n in range(10_000)]  # every PIN people may set (four digits)

# Keyed hashes, by table and column: of a phone number, of who acted on an alert (a duty phone, a console
# account), of a console login's address. The PIN hashes, the SMS session keys and the replay marks are
# keyed hashes too, handled on their own below.
KEYED_HASHES = [
    ("person", "phone_hash"),
    ("contact", "phone_hash"),
    ("outbox_message", "to_hash"),
    ("duty_shift", "phone_hash"),
    ("opt_out", "phone_hash"),
    ("conversation_session", "phone_hash"),
    ("alert", "acknowledged_by"),
    ("alert_note", "author"),
    ("limit_event", "phone_hash"),
    ("login_failure", "address_hash"),
]
SMS_SESSION = "sms:"  # conversation_session.key of an SMS exchange: "sms:<phone hash>"


class CannotRotate(Exception):
    """Something stored cannot be carried over to the new key; the message says what. Nothing changed."""


@dataclass(frozen=True)
class Rotated:
    """What rotate-key did."""

    values: int  # encrypted values re-encrypted
    hashes: int  # keyed hashes computed afresh from what is stored
    # Keyed hashes whose original is stored nowhere any more (an erased number's limit uses or opt-out,
    # the replay mark of a purged message): re-keyed so they cannot be linked to the old key, they
    # match nothing from now on.
    orphaned: int
    unreadable: int  # outbox messages no key here reads (already failed as such): left as they were


def other_sessions() -> int:
    """PostgreSQL: how many other client sessions use this database (a running server would go on
    writing with the old key). SQLite cannot tell: 0."""
    if not is_postgres():
        return 0
    return database.execute_sql(
        """SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
        AND pid <> pg_backend_pid() AND backend_type = 'client backend'"""
    ).fetchone()[0]


def rotate(old: Vault, new: Vault, known_values: Iterable[str], now: float) -> Rotated:
    """Re-encrypts everything written with old so that it reads with new; raises CannotRotate (the caller's
    transaction then rolls back) when a stored value or PIN cannot be read with old. known_values: what
    keyed hashes may have been made of besides the stored numbers (duty phones, console accounts' keys)."""
    if is_postgres():
        tables = ", ".join(model._meta.table_name for model in MODELS)
        database.execute_sql(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")  # nobody writes with the old key meanwhile
    given_up = f"SELECT id FROM outbox_message WHERE status = {database.param} AND last_error = {database.param}"
    unreadable = {row[0] for row in database.execute_sql(given_up, (outbox.FAILED, outbox.UNREADABLE))}
    plain = _decrypt_all(old, unreadable)
    numbers = set(known_values)
    for (_, column), rows in plain.items():
        if column in ("phone", "to"):
            numbers.update(value for _, value in rows if value is not None)
    values = 0
    for (table, column), rows in plain.items():
        for row_id, value in rows:
            _update(table, column, None if value is None else new.encrypt(value), row_id)
            values += 1
    rehash = _Rehash(old, new, numbers)
    for table, column in KEYED_HASHES:
        skip = unreadable if table == "outbox_message" else set()
        for row_id, value in _column(table, column):
            if value is not None and row_id not in skip:
                _update(table, column, rehash(value), row_id)
    for row_id, key in _column("conversation_session", "key"):
        if key.startswith(SMS_SESSION):
            _update("conversation_session", "key", SMS_SESSION + rehash(key.removeprefix(SMS_SESSION)), row_id)
    _rehash_replay_marks(old, new, rehash)
    _rehash_pins(old, new)
    fingerprint.replace(new.fingerprint, now)
    return Rotated(values, rehash.found, rehash.orphaned, len(unreadable))


class _Rehash:
    """Old keyed hash → new one: computed again from the number when it is stored somewhere, else re-keyed
    from the old hash (it then matches nothing, but equal values stay equal)."""

    def __init__(self, old: Vault, new: Vault, numbers: set[str]):
        self._new = new
        self.known = {old.lookup_hash(number): new.lookup_hash(number) for number in numbers}
        self.found = 0
        self.orphaned = 0

    def __call__(self, old_hash: str) -> str:
        if old_hash in self.known:
            self.found += 1
            return self.known[old_hash]
        self.orphaned += 1
        return self._new.lookup_hash(f"rekeyed:{old_hash}")


def upgrade_ciphertexts(keys: Vault) -> int:
    """Re-encrypts every value stored in an older ciphertext version with the same key (schema step 14);
    returns how many. A value this key does not read (a quarantined outbox message) is left as it is."""
    upgraded = 0
    for model in MODELS:
        table = model._meta.table_name
        for field in model._meta.sorted_fields:
            if not isinstance(field, EncryptedField):
                continue
            for row_id, token in _column(table, field.column_name):
                if token is None or is_current(token):
                    continue
                try:
                    value = keys.decrypt(token)
                except Undecryptable:
                    continue
                _update(table, field.column_name, keys.encrypt(value), row_id)
                upgraded += 1
    return upgraded


def _decrypt_all(old: Vault, unreadable: set[int]) -> dict[tuple[str, str], list[tuple[int, str | None]]]:
    """Every encrypted value in clear, by (table, column); CannotRotate naming each column that has values
    the old key cannot read."""
    plain: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
    failures: Counter[str] = Counter()
    for model in MODELS:
        table = model._meta.table_name
        for field in model._meta.sorted_fields:
            if not isinstance(field, EncryptedField):
                continue
            rows = plain.setdefault((table, field.column_name), [])
            for row_id, token in _column(table, field.column_name):
                if model is OutboxMessage and row_id in unreadable:
                    continue
                try:
                    rows.append((row_id, None if token is None else old.decrypt(token)))
                except Undecryptable:
                    failures[f"{table}.{field.column_name}"] += 1
    if failures:
        listed = ", ".join(f"{column}: {count}" for column, count in sorted(failures.items()))
        raise CannotRotate(f"values the current key cannot decrypt ({listed}); nothing was changed")
    return plain


def _rehash_replay_marks(old: Vault, new: Vault, rehash: _Rehash) -> None:
    """The marks of messages still kept are computed again from their carrier ids; older ones are re-keyed."""
    kept = database.execute_sql("SELECT carrier, external_id FROM inbound_message").fetchall()
    rehash.known.update({seen_digest(c, i, old): seen_digest(c, i, new) for c, i in kept})
    for row_id, digest in _column("inbound_seen", "digest"):
        _update("inbound_seen", "digest", rehash(digest), row_id)


def _rehash_pins(old: Vault, new: Vault) -> None:
    """A PIN's keyed hash cannot be recomputed without the PIN: found again by trying the 10,000 PINs
    with the old key (which is why the key must stay secret), then hashed with the new one."""
    rows = database.execute_sql("SELECT id, safety_pin, duress_pin FROM person WHERE safety_pin IS NOT NULL")
    lost = 0
    for person_id, safety, duress in rows.fetchall():
        by_hash = {pin_hash(person_id, pin, old): pin for pin in PINS}
        changes = {}
        for column, stored in (("safety_pin", safety), ("duress_pin", duress)):
            if stored is None:
                continue
            if stored not in by_hash:
                lost += 1
                continue
            changes[column] = pin_hash(person_id, by_hash[stored], new)
        for column, value in changes.items():
            _update("person", column, value, person_id)
    if lost:
        raise CannotRotate(f"{lost} PIN(s) cannot be found with the current key; nothing was changed")


def _column(table: str, column: str) -> list[tuple[int, str | None]]:
    return database.execute_sql(f'SELECT id, "{column}" FROM "{table}" ORDER BY id').fetchall()


def _update(table: str, column: str, value: str | None, row_id: int) -> None:
    database.execute_sql(
        f'UPDATE "{table}" SET "{column}" = {database.param} WHERE id = {database.param}', (value, row_id)
    )
