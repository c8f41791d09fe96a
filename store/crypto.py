"""Personal data at rest: numbers and names encrypted, people found by a keyed hash of their number.

Ciphertexts are versioned. Version 2 (written today): "v2:" + base64url(nonce + AES-256-GCM ciphertext and
tag), 0.5-1 µs a call. Version 1 (written before): a Fernet token (AES-128-CBC + HMAC-SHA256, 6-7 µs a call),
still read, and re-encrypted as version 2 by schema step 14. Fernet tokens always start with "gAAAAA", so
the prefix tells them apart."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

import peewee
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

V2 = "v2:"
_SHA256_BLOCK = 64  # bytes: the key of an HMAC is padded to this
_NONCE = 12  # bytes: random per value; 2^32 values under one key keep the collision risk negligible


class Undecryptable(ValueError):
    """A stored value written with another key (or damaged)."""


class Vault:
    """Encrypts values and hashes look-up keys with two keys derived from one deployment secret."""

    def __init__(self, secret: bytes):
        self._aead = AESGCM(_derive(secret, b"lifeline encryption v2 aes-256-gcm"))
        self._fernet = Fernet(_derive(secret, b"lifeline encryption v1", fernet=True))  # reads version 1
        # HMAC-SHA256 (RFC 2104) with its two keyed states computed once: each hash then copies them, where
        # hmac.digest has OpenSSL look the algorithm up again on every call (2.7 times the cost).
        lookup_key = _derive(secret, b"lifeline lookup hash v1")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in lookup_key.ljust(_SHA256_BLOCK, b"\0")))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in lookup_key.ljust(_SHA256_BLOCK, b"\0")))
        # Tells keys apart without revealing them: its own derived key, so it says nothing of the others.
        self.fingerprint = hmac.new(
            _derive(secret, b"lifeline key fingerprint v1"), b"lifeline key check", hashlib.sha256
        ).hexdigest()

    def encrypt(self, value: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), None)
        return V2 + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            if token.startswith(V2):
                raw = base64.urlsafe_b64decode(token[len(V2) :])
                return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], None).decode("utf-8")
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidTag, InvalidToken, binascii.Error, ValueError) as exc:
            raise Undecryptable("stored value cannot be decrypted with this key") from exc

    def encrypt_v1(self, value: str) -> str:
        """A version-1 (Fernet) token: only for tests that build a database as older releases wrote it."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def lookup_hash(self, value: str) -> str:
        """A keyed hash (HMAC-SHA256) to find a row by phone number without storing the number."""
        inner = self._inner.copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


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


def is_current(token: str) -> bool:
    """True for a ciphertext in the version written today."""
    return token.startswith(V2)


class EncryptedField(peewee.TextField):
    """A text column stored as a versioned ciphertext (see the module's docstring): nothing readable on disk."""

    def db_value(self, value):
        return None if value is None else vault().encrypt(value)

    def python_value(self, value):
        return None if value is None else vault().decrypt(value)
