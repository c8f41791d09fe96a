"""The one database, chosen from DATABASE_URL, and where each transaction runs: off the event loop, or on it
when it is a webhook's few indexed statements on SQLite and nothing has to be waited for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import peewee
from playhouse.db_url import connect as connect_url

T = TypeVar("T")

log = logging.getLogger("lifeline.store")

# Models bind to this proxy; open_database() points it at SQLite or PostgreSQL.
database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "synchronous": "normal",  # durable at every checkpoint, safe in WAL mode
    "busy_timeout": 5000,  # other processes wait for the lock instead of failing
    "foreign_keys": 1,
    # Temporary data in memory: each webhook of a group commit runs in a savepoint, whose journal SQLite
    # otherwise spills past 64 KiB to a file it creates, writes and deletes in the middle of the commit.
    "temp_store": "memory",
    "secure_delete": 1,  # a deleted row (an erased person) is overwritten, not left readable in a free page
}


class DatabaseUnavailable(RuntimeError):
    """The database cannot be used: the message says why, in one line."""


# The hot-path statements use INSERT ... ON CONFLICT ... RETURNING.
MIN_SQLITE = (3, 35, 0)

# A PostgreSQL host that does not answer must not hold a transaction (and the webhook waiting on it) for
# the operating system's TCP timeout; `?connect_timeout=` in DATABASE_URL overrides it.
CONNECT_TIMEOUT_SECONDS = 5


def open_database(url: str) -> peewee.Database:
    """Connects the model proxy to the database named by url (sqlite:///path or postgresql://...).

    SQLite takes `?busy_timeout=<ms>`: how long a transaction waits for another process's write lock.
    """
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if parts.scheme == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise DatabaseUnavailable(f"SQLite {sqlite3.sqlite_version} is too old (3.35 or newer needed)")
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path) or ":memory:"
        pragmas = dict(SQLITE_PRAGMAS)
        if query.get("busy_timeout", "").isdigit():
            pragmas["busy_timeout"] = int(query["busy_timeout"])
        _opened["busy_timeout"] = str(pragmas["busy_timeout"])
        db = peewee.SqliteDatabase(path, pragmas=pragmas, check_same_thread=False)
    else:
        timeout = {} if "connect_timeout" in query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        db = connect_url(url.replace("postgres://", "postgresql://", 1), **timeout)
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


class _WriterLock:
    """SQLite: one lock for every writer of this process (the event loop and the store's threads), taken
    before BEGIN. Within the process nobody then waits in SQLite's busy handler, which sleeps in steps of 1,
    2, 5, 10... ms however short the other transaction: only another process's lock is waited for that way.

    The event loop never blocks on it: it asks `released()` to be woken when a thread lets it go, and then
    runs its transaction itself. Handing the transaction to the thread instead would keep every webhook on
    the thread as long as any is there (each finds the lock taken by the one before), at twice the cost.
    A thread waiting for the lock goes first: the event loop, taking it back between two webhooks each
    time, would otherwise keep the outbox's claims waiting for as long as webhooks keep coming.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._queued = 0  # threads waiting in acquire()
        self._counting = threading.Lock()
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    def acquire(self, blocking: bool = True) -> bool:
        if self._lock.acquire(False):
            return True
        if not blocking:
            return False
        with self._counting:
            self._queued += 1
        self._lock.acquire()
        with self._counting:
            self._queued -= 1
        return True

    def acquire_on_loop(self) -> bool:
        """The event loop's try: False while the lock is taken or a thread waits for it."""
        return not self._queued and self._lock.acquire(False)

    def release(self) -> None:
        self._lock.release()
        if self._waiting:  # list operations are atomic under the GIL
            waiting, self._waiting = self._waiting, []
            for loop, future in waiting:
                with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                    loop.call_soon_threadsafe(_wake, future)

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()

    async def released(self) -> None:
        """Returns once the lock is free (it may be taken again by the time the caller tries it)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((loop, future))
        if not self._lock.locked() and not self._queued:  # released since the caller's try, nobody waiting
            _wake(future)
        await future


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


_writer = _WriterLock()

# A webhook's transaction run on the event loop leaves the write-ahead log to be checkpointed (pages copied
# into the database file and synced) by the store's thread, after this many of them: a log of a few
# thousand pages. The sync stalls the loop's own writes to the log on an ext4 disk for as long as it takes,
# so smaller, more frequent checkpoints keep the longest wait short: at 1,000 hops/s for 30 s the longest
# was 25-29 ms after every 1,000, 9-13 ms after every 250 (and 24 ms after every 100), for 3% more CPU a hop.
CHECKPOINT_AFTER = 250


class _LockTaken(Exception):
    """SQLite's write lock is held elsewhere at this moment: the transaction goes to the store's thread."""


class _OurThreadWrites(_LockTaken):
    """The write lock is held by a thread of this process, for a transaction of its own: wait for it."""


class Store:
    """Runs each transaction off the event loop on a worker thread, except a webhook's on SQLite.

    SQLite gets one thread: it has a single writer anyway. PostgreSQL gets a small pool, one connection
    per thread. A connection that broke (a restarted server, a killed backend) is replaced on the
    thread's next transaction.

    On SQLite a webhook's transaction (`answer`) is a few indexed statements on pages in memory, tens of
    microseconds: handing it to a thread and back costs more than running it, so it runs on the event
    loop. Nothing there blocks: while a thread of ours holds the write lock the webhook awaits its
    release; while another process holds SQLite's lock the transaction goes to the thread, which waits
    for it; and the checkpoint's disk sync is left to the thread. The webhooks ready in one turn of the
    loop commit together (`_joined`). PostgreSQL always uses the threads: every statement is a network
    round trip, which the event loop must not wait for.
    """

    def __init__(self, threads: int | None = None, answer_within: float = 5.0):
        if threads is None:
            threads = 8 if is_postgres() else 1
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="store")
        self._answer_within = answer_within
        self._on_loop = not is_postgres()
        self._unchecked = 0  # transactions committed on the loop since the last checkpoint was asked for
        self._joining: list[_Joined] = []  # webhooks' transactions waiting for this turn's commit
        self._committing: set[asyncio.Task] = set()

    async def run(self, fn: Callable[..., T], *args) -> T:
        """Runs fn(*args) inside one atomic transaction, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, _atomically, fn, args, None)

    async def answer(self, fn: Callable[..., T], *args) -> T:
        """Runs fn(*args) like run, for someone waiting on the outcome (a carrier's webhook): raises
        DatabaseUnavailable once the store's answer time has passed, and what has not committed by then
        is rolled back or never started, so a webhook answered 503 has changed nothing."""
        deadline = time.monotonic() + self._answer_within
        if self._on_loop:
            try:
                return await self._joined(fn, args, deadline)
            except _LockTaken:
                pass  # on the thread, in its turn, waiting for the lock as any transaction does
        future = self._executor.submit(_atomically, fn, args, deadline)
        future.add_done_callback(_retrieved)  # a transaction given up on reports to nobody
        try:
            # A little beyond the deadline: a transaction that checked it just in time may still commit.
            async with asyncio.timeout(self._answer_within + ANSWER_GRACE_SECONDS):
                return await asyncio.shield(asyncio.wrap_future(future))
        except TimeoutError:
            raise DatabaseUnavailable(f"no answer within {self._answer_within:g} s") from None

    async def brief(self, fn: Callable[..., T], *args) -> T:
        """Runs fn(*args) as `answer` runs a webhook's (on SQLite on the event loop, the write lock free):
        for the outbox's claims and records, a few indexed statements on at most a batch of rows, which a
        thread hop and the wait for the GIL on the way back would cost more than. Elsewhere as `run`: on a
        thread, waited for however long the database takes."""
        if self._on_loop:
            return await self.answer(fn, *args)
        return await self.run(fn, *args)

    async def _joined(self, fn: Callable[..., T], args: tuple, deadline: float) -> T:
        """fn(*args) on the event loop, committed together with the other webhooks' transactions that
        reach the store in the same turn of the loop (group commit): each in a savepoint of its own, so
        one that fails is undone alone, and one COMMIT for them all. Under load several webhooks are
        ready at once, and the commit (a write of every page they changed) was a sixth of a USSD hop."""
        joined = _Joined(fn, args, deadline, asyncio.get_running_loop().create_future())
        self._joining.append(joined)
        if len(self._joining) == 1:
            task = asyncio.ensure_future(self._commit_joined())  # after the webhooks ready in this turn
            self._committing.add(task)
            task.add_done_callback(self._committing.discard)
        return await joined.outcome

    async def _commit_joined(self) -> None:
        batch, self._joining = self._joining, []
        batch = [joined for joined in batch if not joined.outcome.cancelled()]  # nobody waits: not done
        if not batch:
            return
        try:
            outcomes = await self._on_the_loop(_each_in_a_savepoint, (batch,), min(j.deadline for j in batch))
        except BaseException as exc:  # nothing was committed: each caller hears why
            for joined in batch:
                if joined.outcome.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    joined.outcome.cancel()
                else:
                    joined.outcome.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._unchecked += len(batch)
        if self._unchecked >= CHECKPOINT_AFTER:
            self._unchecked = 0
            self._executor.submit(_checkpoint_loop_writes).add_done_callback(_retrieved)
        for joined, (result, error) in zip(batch, outcomes, strict=True):
            if joined.outcome.done():
                continue
            if error is not None:
                joined.outcome.set_exception(error)
            else:
                joined.outcome.set_result(result)

    async def _on_the_loop(self, fn: Callable[..., T], args: tuple, deadline: float) -> T:
        """fn(*args) on the event loop, once the store's own thread has let go of the write lock; raises
        _LockTaken when another process holds SQLite's lock (the thread waits for that one)."""
        while True:
            try:
                return _at_once(fn, args)
            except _OurThreadWrites:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DatabaseUnavailable(f"no answer within {self._answer_within:g} s") from None
                try:
                    async with asyncio.timeout(left):
                        await _writer.released()
                except TimeoutError:
                    raise DatabaseUnavailable(f"no answer within {self._answer_within:g} s") from None

    async def overwrite_old_pages(self) -> None:
        """After an erasure: SQLite copies the write-ahead log into the database and empties it, so the
        pages written before the erasure (old versions of rows, encrypted but readable with the key) are
        gone from disk too; with secure_delete the freed space is zeroed. PostgreSQL reuses dead rows'
        space after its autovacuum: nothing to do here (a VACUUM FULL would lock the tables)."""
        if not is_postgres():
            await asyncio.get_running_loop().run_in_executor(self._executor, _checkpoint)

    def close(self) -> None:
        """Waits for running transactions and stops the threads (their connections close with them)."""
        self._executor.shutdown(wait=True)
        database.close()


@dataclass
class _Joined:
    """A webhook's transaction waiting to be committed with the others of its turn."""

    fn: Callable
    args: tuple
    deadline: float
    outcome: asyncio.Future


def _each_in_a_savepoint(batch: list[_Joined]) -> list[tuple[object, BaseException | None]]:
    """Runs each transaction of a group commit, inside the one open transaction: alone as it is, several
    each in a savepoint, so one that fails (a unique key another webhook took first) rolls back alone and
    the caller hears its error, as it would have alone."""
    if len(batch) == 1:
        return [(batch[0].fn(*batch[0].args), None)]
    outcomes: list[tuple[object, BaseException | None]] = []
    connection = database.connection()
    for joined in batch:
        # Written out rather than peewee's atomic(), which names each savepoint with a fresh uuid: the
        # savepoints here follow one another, never nest, and one name does. Straight on the SQLite handle
        # (this runs only there), as the pragmas are.
        _sql(connection, "SAVEPOINT joined")
        try:
            result = joined.fn(*joined.args)
        except (peewee.OperationalError, peewee.InterfaceError):
            raise  # the database itself failed: the whole transaction goes, and is retried or reported
        except Exception as exc:
            _sql(connection, "ROLLBACK TO joined")
            _sql(connection, "RELEASE joined")
            outcomes.append((None, exc))
        else:
            _sql(connection, "RELEASE joined")
            outcomes.append((result, None))
    return outcomes


# How long after its deadline a caller still waits for a transaction to report (see Store.answer).
ANSWER_GRACE_SECONDS = 1.0


def _checkpoint() -> None:
    with _writer:  # no transaction of the event loop's starts meanwhile: the log is emptied whole
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _retrieved(future: Future) -> None:
    if not future.cancelled():
        future.exception()


def _at_once(fn: Callable[..., T], args: tuple) -> T:
    """fn(*args) in one SQLite transaction on the calling thread (the event loop), if the write lock can be
    had without waiting; raises _LockTaken, having done nothing, if it cannot."""
    if not _writer.acquire_on_loop():
        raise _OurThreadWrites  # a transaction of the store's thread is running
    try:
        if database.in_transaction():
            raise _LockTaken  # the caller's own transaction (a test's) is open on this connection
        return _atomically(fn, args, None, at_once=True)
    finally:
        _writer.release()


# The connection (of the event loop's thread) that is told to leave checkpoints to the store's thread.
_loop_connection: list = [None]


def _without_waiting() -> None:
    """This connection's next BEGIN fails at once instead of waiting for another process's lock."""
    connection = database.connection()
    if connection is not _loop_connection[0]:
        # A checkpoint syncs the database file to disk: never on the event loop.
        _pragma(connection, "wal_autocheckpoint = 0")
        _loop_connection[0] = connection
    _pragma(connection, "busy_timeout = 0")


def _waiting_again() -> None:
    """Others using this thread's connection (a test's own queries) wait for the lock as configured."""
    if not database.is_closed():
        with contextlib.suppress(peewee.PeeweeException):  # a broken handle is replaced on its next use
            _pragma(database.connection(), f"busy_timeout = {_opened.get('busy_timeout', 5000)}")


def _pragma(connection: sqlite3.Connection, setting: str) -> None:
    """Sets a pragma on the handle itself (peewee's statement machinery costs more than the statement)."""
    _sql(connection, f"PRAGMA {setting}")


def _sql(connection: sqlite3.Connection, statement: str) -> None:
    """One statement on the SQLite handle itself; a failure reads as peewee's, like any other statement's."""
    try:
        connection.execute(statement)
    except sqlite3.Error as exc:
        raise peewee.OperationalError(str(exc)) from exc


def _checkpoint_loop_writes() -> None:
    """Copies committed pages from the write-ahead log into the database file: most of them while the event
    loop goes on writing, then what it wrote meanwhile holding the writers' lock. The copy is then complete,
    so the next transaction writes the log from its start again instead of making it ever longer (webhooks
    meanwhile wait on the thread, as they did behind SQLite's own checkpoints)."""
    database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
    with _writer:
        database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _atomically(fn: Callable[..., T], args: tuple, deadline: float | None, at_once: bool = False) -> T:
    # On SQLite the store's thread waits its turn here (at_once: the caller holds the lock already).
    with _writer if not at_once and not is_postgres() else contextlib.nullcontext():
        return _transaction(fn, args, deadline, at_once)


def _transaction(fn: Callable[..., T], args: tuple, deadline: float | None, at_once: bool) -> T:
    # peewee opens one connection per worker thread on first use and keeps it while it works. On SQLite
    # the write lock is taken at BEGIN: a transaction that reads then writes would otherwise fail at
    # once with "database is locked" when another process holds it, whatever busy_timeout says.
    for attempt in (1, 2):
        _give_up_if_late(deadline)
        if not database.is_closed() and not database.is_connection_usable():
            _replace_connection()
        began = False
        try:
            if at_once:
                _without_waiting()
            try:
                with database.atomic(lock_type="IMMEDIATE") if not is_postgres() else database.atomic():
                    began = True
                    result = fn(*args)
                    _give_up_if_late(deadline)  # nobody would hear of this commit: roll back instead
                    return result
            finally:
                if at_once:
                    _waiting_again()
        except (peewee.OperationalError, peewee.InterfaceError, peewee.ProgrammingError) as exc:
            reason = _first_line(exc)
            if isinstance(exc, peewee.ProgrammingError) and not _connection_broken(exc):
                raise  # a mistake in a query, not the database going away
            if not _connection_broken(exc):
                if at_once and not began:
                    raise _LockTaken from exc  # another process writes: the thread waits for it
                raise DatabaseUnavailable(reason) from exc  # a lock wait ran out, a timeout: try later
            _replace_connection()
            # Failing at BEGIN, nothing was sent: the same transaction on a fresh connection is safe.
            # Once BEGIN went through, the failure may have hit the COMMIT: never run it twice.
            if began or attempt == 2:
                raise DatabaseUnavailable(f"connection lost: {reason}") from exc
            log.warning("database connection lost (%s): trying a new one", reason)
    raise AssertionError("unreachable")


def _give_up_if_late(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DatabaseUnavailable("no answer in time")


def _connection_broken(exc: peewee.DatabaseError) -> bool:
    """True when this thread's connection cannot be used again."""
    if is_postgres():
        return not database.is_connection_usable()  # psycopg2 marks a connection the server dropped
    text = str(exc)
    if isinstance(exc, peewee.ProgrammingError):
        return "closed database" in text  # the handle itself was closed
    # SQLite: a lock wait leaves the connection as good as it was; any other failure (I/O error, a file
    # replaced or gone) may have broken the handle, and a fresh one costs a file open.
    return "locked" not in text and "busy" not in text


def _replace_connection() -> None:
    """Drops this thread's connection; the next statement opens a new one."""
    try:
        database.close()
    except peewee.DatabaseError:
        database.dispose()  # closing a dead connection may fail too: just forget it


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
