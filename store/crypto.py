"""Personal data at rest: numbers and names encrypted, people found by a keyed hash of their number."""

from __future__ import annotations

import base64
import hashlib
import hmac

import peewee
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Undecryptable(ValueError):
    """A stored value written with another key (or damaged)."""


class Vault:
    """Encrypts values and hashes look-up keys with two keys derived from one deployment secret."""

    def __init__(self, secret: bytes):
        self._fernet = Fernet(_derive(secret, b"lifeline encryption v1", fernet=True))
        self._lookup_key = _derive(secret, b"lifeline lookup hash v1")
        # Tells keys apart without revealing them: its own derived key, so it says nothing of the others.
        self.fingerprint = hmac.new(
            _derive(secret, b"lifeline key fingerprint v1"), b"lifeline key check", hashlib.sha256
        ).hexdigest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise Undecryptable("stored value cannot be decrypted with this key") from exc

    def lookup_hash(self, value: str) -> str:
        """A keyed hash (HMAC-SHA256) to find a row by phone number without storing the number."""
        return hmac.new(self._lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _derive(secret: bytes, purpose: bytes, fernet: bool = False) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256); base64 for Fernet, which wants it so."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
    return base64.urlsafe_b64encode(key) if fernet else key


class _VaultHolder:
    """The deployment's vault, set once at start-up (like the database proxy)."""

    vault: Vault | None = None


def configure_vault(secret: bytes) -> Vault:
    """Makes every EncryptedField use keys derived from this secret."""
    _VaultHolder.vault = Vault(secret)
    return _VaultHolder.vault


def vault() -> Vault:
    if _VaultHolder.vault is None:
        raise RuntimeError("configure_vault() was not called")
    return _VaultHolder.vault


def lookup_hash(value: str) -> str:
    """Keyed hash of a phone number (E.164) for look-ups."""
    return vault().lookup_hash(value)


class EncryptedField(peewee.TextField):
    """A text column stored as a Fernet token (AES-128-CBC + HMAC-SHA256): nothing readable on disk."""

    def db_value(self, value):
        return None if value is None else vault().encrypt(value)

    def python_value(self, value):
        return None if value is None else vault().decrypt(value)
