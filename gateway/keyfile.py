"""The deployment secret: LIFELINE_SECRET_KEY, else a key file created once, readable only by its owner."""

from __future__ import annotations

import logging
import os
import secrets

from gateway.settings import Settings

log = logging.getLogger("lifeline.keyfile")


def load_secret(settings: Settings) -> bytes:
    """The secret every encryption and look-up key is derived from."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = settings.key_file
    if not path.exists():
        # Written aside, then linked into place: of several processes starting at once, exactly
        # one creates the file, and nobody ever reads it half-written.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
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
    return path.read_bytes().strip()
