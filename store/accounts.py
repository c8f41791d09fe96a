"""Officials' console accounts, their sessions and failed logins: named queries returning plain values."""

from __future__ import annotations

from dataclasses import dataclass

from store.crypto import lookup_hash
from store.models import Account, ConsoleSession, LoginFailure


@dataclass(frozen=True)
class Official:
    """An account as the console needs it (never the password hash or the TOTP secret)."""

    id: int
    email: str
    role: str
    consulate: str | None
    language: str
    blocked: bool
    must_change_password: bool
    has_totp: bool
    failed_logins: int
    locked_until: float | None
    last_login_at: float | None


def _official(row: Account) -> Official:
    return Official(
        row.id,
        row.email,
        row.role,
        row.consulate,
        row.language,
        row.blocked,
        row.must_change_password,
        row.totp_confirmed,
        row.failed_logins,
        row.locked_until,
        row.last_login_at,
    )


def create(email: str, password_hash: str, role: str, consulate: str | None, language: str, now: float) -> Official:
    """Adds an account; the caller checked the email is free."""
    row = Account.create(
        email=email,
        password_hash=password_hash,
        role=role,
        consulate=consulate,
        language=language,
        created_at=now,
        updated_at=now,
    )
    return _official(row)


def exists(email: str) -> bool:
    return Account.select().where(Account.email == email).exists()


def by_email(email: str) -> Official | None:
    row = Account.get_or_none(Account.email == email)
    return _official(row) if row else None


def by_id(account_id: int) -> Official | None:
    row = Account.get_or_none(Account.id == account_id)
    return _official(row) if row else None


def everyone() -> list[Official]:
    return [_official(row) for row in Account.select().order_by(Account.email)]


def password_hash_of(account_id: int) -> str | None:
    row = Account.get_or_none(Account.id == account_id)
    return row.password_hash if row else None


def totp_secret_of(account_id: int) -> str | None:
    row = Account.get_or_none(Account.id == account_id)
    return row.totp_secret if row else None


def set_totp(account_id: int, secret: str | None, confirmed: bool, now: float) -> None:
    Account.update(totp_secret=secret, totp_confirmed=confirmed, updated_at=now).where(
        Account.id == account_id
    ).execute()


def set_password(account_id: int, password_hash: str, must_change: bool, now: float) -> None:
    """A new password ends every session of the account."""
    Account.update(
        password_hash=password_hash,
        must_change_password=must_change,
        failed_logins=0,
        locked_until=None,
        updated_at=now,
    ).where(Account.id == account_id).execute()
    end_sessions(account_id)


def set_blocked(account_id: int, blocked: bool, now: float) -> None:
    """Blocking ends every session of the account at once."""
    Account.update(blocked=blocked, updated_at=now).where(Account.id == account_id).execute()
    if blocked:
        end_sessions(account_id)


def set_role(account_id: int, role: str, consulate: str | None, now: float) -> None:
    """A new role or consulate ends the account's sessions: what it may see changed."""
    Account.update(role=role, consulate=consulate, updated_at=now).where(Account.id == account_id).execute()
    end_sessions(account_id)


def set_language(account_id: int, language: str, now: float) -> None:
    Account.update(language=language, updated_at=now).where(Account.id == account_id).execute()


def login_failed(account_id: int | None, address: str, lock_after: int, lock_seconds: float, now: float) -> None:
    """Counts a failure for the account (locking it after lock_after in a row) and for the address."""
    LoginFailure.create(address_hash=lookup_hash(f"address:{address}"), at=now)
    if account_id is None:
        return
    Account.update(failed_logins=Account.failed_logins + 1, updated_at=now).where(Account.id == account_id).execute()
    row = Account.get_by_id(account_id)
    if row.failed_logins >= lock_after:
        Account.update(locked_until=now + lock_seconds).where(Account.id == account_id).execute()


def login_succeeded(account_id: int, now: float) -> None:
    Account.update(failed_logins=0, locked_until=None, last_login_at=now).where(Account.id == account_id).execute()


def failures_from(address: str, since: float) -> int:
    """Failed logins from an address since a moment, whichever accounts they tried."""
    address_hash = lookup_hash(f"address:{address}")
    return LoginFailure.select().where((LoginFailure.address_hash == address_hash) & (LoginFailure.at >= since)).count()


def forget_failures_before(cutoff: float) -> int:
    return LoginFailure.delete().where(LoginFailure.at < cutoff).execute()


# -- sessions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSession:
    account_id: int | None
    data: str  # JSON
    created_at: float
    last_seen_at: float


def load_session(key_hash: str, now: float) -> StoredSession | None:
    """A live session by its key's hash; None when unknown, expired, or its account is blocked."""
    row = ConsoleSession.get_or_none((ConsoleSession.key_hash == key_hash) & (ConsoleSession.expires_at > now))
    if row is None:
        return None
    if row.account_id is not None:
        blocked = Account.select(Account.blocked).where(Account.id == row.account_id).scalar()
        if blocked is None or blocked:
            return None
    return StoredSession(row.account_id, row.data, row.created_at, row.last_seen_at)


def save_session(key_hash: str, account_id: int | None, data: str, now: float, expires_at: float) -> None:
    """Creates or refreshes a session row (the idle timeout moves with each request)."""
    updated = (
        ConsoleSession.update(account=account_id, data=data, last_seen_at=now, expires_at=expires_at)
        .where(ConsoleSession.key_hash == key_hash)
        .execute()
    )
    if not updated:
        ConsoleSession.insert(
            key_hash=key_hash, account=account_id, data=data, created_at=now, last_seen_at=now, expires_at=expires_at
        ).on_conflict_ignore().execute()


def end_session(key_hash: str) -> None:
    ConsoleSession.delete().where(ConsoleSession.key_hash == key_hash).execute()


def end_sessions(account_id: int, keep: str | None = None) -> int:
    """Ends the account's sessions (all, or all but the one whose key hash is `keep`)."""
    query = ConsoleSession.delete().where(ConsoleSession.account == account_id)
    if keep is not None:
        query = query.where(ConsoleSession.key_hash != keep)
    return query.execute()


def live_sessions(account_id: int, now: float) -> int:
    return (
        ConsoleSession.select()
        .where((ConsoleSession.account == account_id) & (ConsoleSession.expires_at > now))
        .count()
    )


def purge_sessions(now: float) -> int:
    return ConsoleSession.delete().where(ConsoleSession.expires_at <= now).execute()
