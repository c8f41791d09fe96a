"""The deployment secret: LIFELINE_SECRET_KEY, else a key file created once, readable only by its owner;
checked against the key the database was written with before anything is read or written."""

from __future__ import annotations

import logging
import os
import secrets
import stat
import time
from pathlib import Path

from gateway.settings import Settings, SettingsError
from store import fingerprint
from store.crypto import configure_vault, vault
from store.schema import migrate

log = logging.getLogger("lifeline.keyfile")


def key_variable(settings: Settings) -> str:
    """The variable the secret comes from, as a refusal names it."""
    return "LIFELINE_SECRET_KEY" if settings.secret_key else "LIFELINE_KEY_FILE"


def unlock(settings: Settings, read_only: bool = False) -> None:
    """Opens the store's keys: loads the secret (creating the key file for a new database only), migrates
    the schema, and checks that this is the key the data was written with. Runs inside one transaction on
    an open database; raises SettingsError naming the variable to fix. Read-only (a tool looking at a
    running server's store) it changes nothing: no schema, and the key only compared."""
    if not settings.secret_key and not settings.key_file.exists():
        stored = fingerprint.recorded()
        if stored:
            # Started elsewhere than usual: a new key here would make a second, empty identity of everyone.
            raise SettingsError(
                "LIFELINE_KEY_FILE",
                f"{settings.key_file} does not exist, and this database was written with a key "
                f"(fingerprint {stored[:12]}): run where the key file is, or set LIFELINE_KEY_FILE to it",
            )
    configure_vault(load_secret(settings))
    try:
        if read_only:
            stored = fingerprint.recorded()
            if stored and stored != vault().fingerprint:
                raise fingerprint.KeyMismatch(stored, vault().fingerprint)
            return
        migrate()
        fingerprint.verify(time.time())
    except fingerprint.KeyMismatch as exc:
        hint = ""
        if not settings.secret_key and pending_key_file(settings.key_file).exists():
            hint = f"; an interrupted rotate-key left {pending_key_file(settings.key_file)}: run rotate-key again"
        raise SettingsError(key_variable(settings), f"{exc}{hint}") from None


def load_secret(settings: Settings) -> bytes:
    """The secret every encryption and look-up key is derived from."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = settings.key_file
    if not path.exists():
        # Written aside, then linked into place: of several processes starting at once, exactly
        # one creates the file, and nobody ever reads it half-written.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        write_private(draft, secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
            log.warning(
                "LIFELINE_SECRET_KEY is not set: created %s (readable only by this user). Back it up: "
                "without it the stored numbers and names cannot be read.",
                path,
            )
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return read_private(path)


def read_private(path: Path) -> bytes:
    """A key file's secret; refused (SettingsError) when group or others may read the file."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SettingsError(
            "LIFELINE_KEY_FILE",
            f"{path} may be read by other users (mode {mode:03o}): run chmod 600 {path}",
        )
    return path.read_bytes().strip()


def write_private(path: Path, secret: str) -> None:
    """Writes a secret to a new file only its owner can read, and makes it durable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def pending_key_file(key_file: Path) -> Path:
    """Where rotate-key keeps the new key until the database is re-encrypted with it."""
    return key_file.with_name(key_file.name + ".new")
