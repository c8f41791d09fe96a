"""The one database, chosen from DATABASE_URL, and the single hop off the event loop for each transaction."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import peewee
from playhouse.db_url import connect as connect_url

T = TypeVar("T")

# Models bind to this proxy; open_database() points it at SQLite or PostgreSQL.
database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "synchronous": "normal",  # durable at every checkpoint, safe in WAL mode
    "busy_timeout": 5000,  # other processes wait for the lock instead of failing
    "foreign_keys": 1,
}


class DatabaseUnavailable(RuntimeError):
    """The database cannot be used: the message says why, in one line."""


# The hot-path statements use INSERT ... ON CONFLICT ... RETURNING.
MIN_SQLITE = (3, 35, 0)


def open_database(url: str) -> peewee.Database:
    """Connects the model proxy to the database named by url (sqlite:///path or postgresql://...)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise DatabaseUnavailable(f"SQLite {sqlite3.sqlite_version} is too old (3.35 or newer needed)")
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path) or ":memory:"
        db = peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    else:
        db = connect_url(url.replace("postgres://", "postgresql://", 1))
    database.initialize(db)
    _opened["url"] = url
    return db


_opened: dict[str, str] = {}


def is_open_at(url: str) -> bool:
    """True when the model proxy already points at this database (a server in this same process)."""
    return database.obj is not None and _opened.get("url") == url


def probe() -> None:
    """Connects once, so a wrong DATABASE_URL is reported in one line before the service starts."""
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1")
    except peewee.DatabaseError as exc:
        raise DatabaseUnavailable(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        ) from None
    finally:
        database.close()


def is_postgres() -> bool:
    """True when the open database is PostgreSQL (claims use FOR UPDATE SKIP LOCKED there)."""
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def inserted_one(query: peewee.Insert) -> bool:
    """Runs an INSERT ... ON CONFLICT DO NOTHING; True if it added the row.

    The row count is the one answer both databases give alike (SQLite keeps a stale lastrowid).
    """
    return database.execute(query).rowcount == 1


class Store:
    """Runs each transaction on a worker thread, so queries never block the event loop.

    SQLite gets one thread: it has a single writer anyway, and one thread means no SQLITE_BUSY
    inside the process. PostgreSQL gets a small pool, one connection per thread.
    """

    def __init__(self, threads: int | None = None):
        if threads is None:
            threads = 8 if is_postgres() else 1
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="store")

    async def run(self, fn: Callable[..., T], *args) -> T:
        """Runs fn(*args) inside one atomic transaction, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, _atomically, fn, args)

    def close(self) -> None:
        """Waits for running transactions and stops the threads (their connections close with them)."""
        self._executor.shutdown(wait=True)
        database.close()


def _atomically(fn: Callable[..., T], args: tuple) -> T:
    # peewee opens one connection per worker thread on first use and keeps it. On SQLite the
    # write lock is taken at BEGIN: a transaction that reads then writes would otherwise fail at
    # once with "database is locked" when another process holds it, whatever busy_timeout says.
    with database.atomic(lock_type="IMMEDIATE") if not is_postgres() else database.atomic():
        return fn(*args)
