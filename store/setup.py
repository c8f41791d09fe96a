"""Opening the store for a command: the database, the keys for what is stored encrypted, the schema."""

from __future__ import annotations

from store.crypto import configure_vault
from store.db import open_database
from store.schema import migrate


def open_store(database_url: str, secret: bytes) -> None:
    """Connects to the database, derives the encryption keys from the secret, and migrates the schema."""
    open_database(database_url)
    configure_vault(secret)
    migrate()
