"""`run.py rotate-key`: re-encrypts the store with a new secret, all or nothing, then puts the new key
where `serve` reads it.

The new secret is LIFELINE_NEW_SECRET_KEY when set; otherwise (key file deployments) a new key is
written to `<key file>.new` first, the store is re-encrypted in one transaction, and only then is the
key file replaced (the old one kept as `<key file>.old`, for backups made before). Interrupted after the
commit, running the command again finishes the swap. Every `serve` process must be stopped first.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass

from gateway.keyfile import pending_key_file, read_private, unlock, write_private
from gateway.settings import Settings, SettingsError
from handlers.backoffice import desk
from store import accounts, fingerprint, rotation
from store.crypto import Vault, vault
from store.db import database, is_postgres, open_database


@dataclass(frozen=True)
class KeyRotated:
    """What rotate-key did, and what the operator does next."""

    rotated: rotation.Rotated | None  # None: an interrupted rotation was only finished
    next_step: str


def rotate_key(settings: Settings, officers: frozenset[str]) -> KeyRotated:
    """Re-encrypts every encrypted value and keyed hash with the new secret (officers: every duty phone of
    the consulates file); raises SettingsError (naming the variable) or rotation.CannotRotate, changing
    nothing."""
    open_database(settings.database_url)
    pending = pending_key_file(settings.key_file)
    if not settings.secret_key and not settings.new_secret_key and pending.exists():
        with database.atomic():
            stored = fingerprint.recorded()
        if stored == Vault(read_private(pending)).fingerprint:  # committed, but the files were not swapped
            _swap(settings, pending)
            return KeyRotated(None, f"finished an interrupted rotation: {settings.key_file} holds the new key")
    with database.atomic():
        unlock(settings)  # the current key, checked against the database
    old = vault()
    if settings.new_secret_key:
        new_secret = settings.new_secret_key.encode("utf-8")
    elif settings.secret_key:
        raise SettingsError(
            "LIFELINE_NEW_SECRET_KEY",
            "is required when LIFELINE_SECRET_KEY is set (generate one with: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(48))")',
        )
    else:
        write_private(pending, secrets.token_urlsafe(48))  # durable before the database depends on it
        new_secret = read_private(pending)
    new = Vault(new_secret)
    if new.fingerprint == old.fingerprint:
        raise SettingsError("LIFELINE_NEW_SECRET_KEY", "is the key in use now")
    with database.atomic(lock_type="EXCLUSIVE") if not is_postgres() else database.atomic():
        others = rotation.other_sessions()
        if others:
            raise rotation.CannotRotate(
                f"{others} other session(s) use this database: stop every serve process first; nothing was changed"
            )
        # Who acted on an alert is kept as a keyed hash: of a duty phone, or of a console account.
        known = set(officers) | {desk.actor_key(official.email) for official in accounts.everyone()}
        rotated = rotation.rotate(old, new, known, time.time())
    if settings.new_secret_key:
        step = "set LIFELINE_SECRET_KEY to the value of LIFELINE_NEW_SECRET_KEY and remove LIFELINE_NEW_SECRET_KEY"
        if not settings.secret_key:
            step += f"; {settings.key_file} is no longer used (keep it only with backups made before now)"
        return KeyRotated(rotated, step)
    _swap(settings, pending)
    old_file = _old_key_file(settings)
    return KeyRotated(rotated, f"{settings.key_file} holds the new key; {old_file} reads only backups made before now")


def _swap(settings: Settings, pending) -> None:
    """The new key into place, the old one aside (a crash between the two leaves no key file, and `serve`
    then refuses to start rather than create a new one)."""
    if settings.key_file.exists():
        os.replace(settings.key_file, _old_key_file(settings))
    os.replace(pending, settings.key_file)


def _old_key_file(settings: Settings):
    return settings.key_file.with_name(settings.key_file.name + ".old")
