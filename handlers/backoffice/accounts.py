"""Officials' accounts, for `run.py admin` and the console alike: roles, passwords (argon2id), login with
throttling and lockout, the second factor (TOTP), blocking and resets. Every change is audited."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from handlers.backoffice.errors import OptionError
from handlers.reference.consulates import Directory
from store import accounts, audit, tokens
from store.accounts import Official

ROLES = ("admin", "supervisor", "officer", "focal_point")
# A second factor is required for the roles that see every consulate.
TOTP_REQUIRED = frozenset({"admin", "supervisor"})
LANGUAGES = ("es", "en")
MIN_PASSWORD = 12
LOCK_AFTER = 5  # failed logins in a row lock the account...
LOCK_SECONDS = 15 * 60  # ...for this long
ADDRESS_WINDOW = 15 * 60  # an address with this many failures...
ADDRESS_LIMIT = 20  # ...in this window is refused for a while, whatever account it tries
ISSUER = "Lifeline"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
_COMMON = Path(__file__).with_name("common_passwords.txt")

# argon2-cffi's defaults are the RFC 9106 "low memory" argon2id profile.
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Login:
    """The outcome of a password check: the account on success, else why not (never which part was wrong)."""

    official: Official | None
    refusal: str | None  # "invalid" | "locked" | "throttled" | "blocked"


def _common() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines() if _COMMON.exists() else []
    return frozenset(_plain(line) for line in lines if line.strip() and not line.startswith("#"))


def _plain(password: str) -> str:
    return "".join(password.lower().split())


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if len(password) > 256:
        return "at most 256 characters"
    plain = _plain(password)
    if plain in _common() or len(set(plain)) < 4 or (email and email.split("@")[0].lower() in plain):
        return "too easy to guess"
    return None


def normalised_email(email: str) -> str:
    """The login as stored: trimmed, lower case; OptionError when it is no email address."""
    email = (email or "").strip().lower()
    if not _EMAIL.match(email):
        raise OptionError("email", "is not an email address")
    return email


def create(
    directory: Directory,
    email: str,
    role: str,
    consulate: str | None,
    password: str,
    actor: str | None,
    now: float,
    language: str = "es",
) -> Official:
    """A new account; an officer must have a consulate, no other role has one."""
    email = normalised_email(email)
    consulate = _consulate_for(directory, role, consulate)
    if accounts.exists(email):
        raise OptionError("email", "already has an account")
    problem = password_problem(password, email)
    if problem:
        raise OptionError("password", problem)
    if language not in LANGUAGES:
        raise OptionError("language", f"must be one of {', '.join(LANGUAGES)}")
    official = accounts.create(email, _hasher.hash(password), role, consulate, language, now)
    audit.append(actor, "account.create", email, f"role={role} consulate={consulate or '-'}", now)
    return official


def _consulate_for(directory: Directory, role: str, consulate: str | None) -> str | None:
    if role not in ROLES:
        raise OptionError("role", f"must be one of {', '.join(ROLES)}")
    if role == "officer":
        found = directory.by_id((consulate or "").strip().lower())
        if found is None:
            raise OptionError("consulate", "an officer needs the id of a consulate in config/consulates.yaml")
        return found.id
    return None


def check_password(email: str, password: str, address: str, now: float) -> Login:
    """The password step of a login, throttled per account and per address; failures are audited."""
    if accounts.failures_from(address, now - ADDRESS_WINDOW) >= ADDRESS_LIMIT:
        audit.append(None, "login.throttled", None, "too many failures from one address", now)
        return Login(None, "throttled")
    try:
        email = normalised_email(email)
    except OptionError:
        email = ""
    official = accounts.by_email(email) if email else None
    stored = accounts.password_hash_of(official.id) if official else None
    if official is not None and official.locked_until and official.locked_until > now:
        audit.append(email, "login.refused", email, "locked", now)
        return Login(None, "locked")
    if not _verified(stored, password):
        accounts.login_failed(official.id if official else None, address, LOCK_AFTER, LOCK_SECONDS, now)
        audit.append(email or None, "login.failed", email or None, "wrong email or password", now)
        return Login(None, "invalid")
    if official.blocked:
        audit.append(email, "login.refused", email, "blocked", now)
        return Login(None, "blocked")
    if _hasher.check_needs_rehash(stored):
        accounts.set_password(official.id, _hasher.hash(password), official.must_change_password, now)
    return Login(official, None)


def _verified(stored: str | None, password: str) -> bool:
    if stored is None:
        _hasher.hash(password)  # the same work whether or not the account exists
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_second_factor(official: Official) -> bool:
    """A second factor is asked at login for enrolled accounts, and enrolment is forced where required."""
    return official.has_totp or official.role in TOTP_REQUIRED


def check_code(official: Official, code: str, now: float) -> bool:
    """A TOTP code (one step of clock drift allowed either way)."""
    secret = accounts.totp_secret_of(official.id)
    code = (code or "").strip().replace(" ", "")
    return bool(secret) and code.isdigit() and pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)


def logged_in(official: Official, now: float) -> None:
    accounts.login_succeeded(official.id, now)
    audit.append(official.email, "login", official.email, "", now)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(email: str, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (or a person types)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def enrol_totp(official: Official, secret: str, code: str, now: float) -> bool:
    """Saves the second factor once a first code from it is right."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)):
        return False
    accounts.set_totp(official.id, secret, True, now)
    audit.append(official.email, "account.totp", official.email, "enrolled", now)
    return True


def set_totp_now(official: Official, secret: str, now: float) -> None:
    """`run.py admin create` enrols the second factor it prints."""
    accounts.set_totp(official.id, secret, True, now)


def change_password(official: Official, current: str, new: str, now: float) -> None:
    """The account's own change: the current password first; every other session ends."""
    if not _verified(accounts.password_hash_of(official.id), current):
        raise OptionError("current", "is not the current password")
    problem = password_problem(new, official.email)
    if problem:
        raise OptionError("password", problem)
    accounts.set_password(official.id, _hasher.hash(new), False, now)
    audit.append(official.email, "account.password", official.email, "changed", now)


def reset_password(actor: Official, target_id: int, now: float) -> str:
    """An administrator's reset: a temporary password, to be changed at the next login; sessions end."""
    target = _target(target_id)
    temporary = secrets.token_urlsafe(12)
    accounts.set_password(target.id, _hasher.hash(temporary), True, now)
    audit.append(actor.email, "account.reset", target.email, "temporary password issued", now)
    return temporary


def set_blocked(actor: Official, target_id: int, blocked: bool, now: float) -> Official:
    target = _target(target_id)
    if target.id == actor.id:
        raise OptionError("account", "you cannot block yourself")
    accounts.set_blocked(target.id, blocked, now)
    audit.append(actor.email, "account.block" if blocked else "account.unblock", target.email, "", now)
    return target


def set_role(directory: Directory, actor: Official, target_id: int, role: str, consulate: str | None, now: float):
    target = _target(target_id)
    consulate = _consulate_for(directory, role, consulate)
    accounts.set_role(target.id, role, consulate, now)
    audit.append(actor.email, "account.role", target.email, f"role={role} consulate={consulate or '-'}", now)


def _target(account_id: int) -> Official:
    target = accounts.by_id(account_id)
    if target is None:
        raise OptionError("account", "no such account")
    return target


def new_api_token(email: str, actor: str | None, now: float) -> str:
    """A bearer token for /api/v1/, shown once: only its hash is kept."""
    official = accounts.by_email(normalised_email(email))
    if official is None:
        raise OptionError("email", "has no account")
    token = "llt_" + secrets.token_urlsafe(32)
    tokens.add(official.id, token, now)
    audit.append(actor, "token.create", official.email, "", now)
    return token
