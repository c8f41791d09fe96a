"""The store: WAL on SQLite, migrations once, the key file, and several dispatchers sharing one outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import peewee
import pytest
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as alter

from gateway import keys
from gateway.carriers.sdk.twilio_sender import TwilioSender
from gateway.metrics import Metrics
from gateway.outbox.dispatcher import Dispatcher
from gateway.policy import OutboxPolicy
from store import db, inbound, outbox, sessions
from store.db import Store, database, is_postgres
from store.models import ConversationSession, InboundSeen, OutboxMessage, Person, SchemaVersion
from store.schema import MIGRATIONS, migrate
from tests import payloads
from tests.conftest import PERSON, in_store
from tests.test_flows_sms import Phone
from tests.test_outbox import settled


async def test_sqlite_runs_in_wal_mode(start, database_url):
    client = await start("console")
    if database_url.startswith("sqlite"):
        mode = await in_store(client, lambda: database.execute_sql("PRAGMA journal_mode").fetchone()[0])
        assert mode == "wal"
    else:
        assert is_postgres()


async def test_migrations_run_once(start):
    client = await start("console")
    assert await in_store(client, migrate) == []  # start-up already applied them
    assert await in_store(client, SchemaVersion.select().count) == len(MIGRATIONS)


async def test_a_database_from_before_nationalities_gains_the_column_and_keeps_its_people(start):
    client = await start("console")
    await Phone(client, PERSON).send("hola")

    def as_before_nationalities():
        migrator = SchemaMigrator.from_database(database.obj)
        alter(migrator.drop_column("person", "nationality"))
        SchemaVersion.delete().where(SchemaVersion.version == 15).execute()

    await in_store(client, as_before_nationalities)
    assert await in_store(client, migrate) == [15]
    columns = await in_store(client, lambda: {c.name for c in database.get_columns("person")})
    assert "nationality" in columns
    assert await in_store(client, lambda: Person.select(Person.nationality).tuples()[:]) == [(None,)]


async def test_without_a_secret_key_serve_creates_a_private_key_file_once(start, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    key_file = tmp_path / "own.key"
    client = await start("console", LIFELINE_SECRET_KEY="", LIFELINE_KEY_FILE=str(key_file))
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "hola"))
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    created = [r for r in caplog.records if "created" in r.getMessage() and "LIFELINE_SECRET_KEY" in r.getMessage()]
    assert len(created) == 1
    await client.close()

    caplog.clear()
    again = await start("console", LIFELINE_SECRET_KEY="", LIFELINE_KEY_FILE=str(key_file))
    assert not [r for r in caplog.records if "LIFELINE_SECRET_KEY" in r.getMessage()]
    # The same key reads what the first run stored.
    rows = await in_store(again, lambda: list(OutboxMessage.select()))
    assert rows[0].to == PERSON


async def test_two_dispatchers_share_one_outbox_and_send_each_message_once(start, fake):
    client = await start("twilio")
    app_store = client.app[keys.STORE]
    now = client.app[keys.CLOCK]()
    count = 120

    def fill():
        for n in range(count):
            outbox.enqueue(outbox.NewMessage(f"shared-{n}", f"+1555555{n:04d}", "hola", "gsm7", 1, ("twilio",)), now)

    # Two more dispatchers, each with its own store threads, as two more server processes would have.
    policy = OutboxPolicy(concurrency=8, lease_seconds=30, send_timeout_seconds=5)
    extra = []
    for _ in range(2):
        other_store = Store()
        sender = TwilioSender(fake.twilio_sid, fake.twilio_token, "+15555550100", fake.url, None, 5)
        extra.append(
            (
                other_store,
                sender,
                Dispatcher(other_store, {"twilio": sender}, policy, client.app[keys.CLOCK], Metrics()),
            )
        )
    tasks = [asyncio.create_task(d.run()) for _, _, d in extra]
    try:
        await app_store.run(fill)
        client.app[keys.DISPATCHER].wake()
        for _, _, d in extra:
            d.wake()
        await fake.wait_for(count, timeout=20)
        await settled(client, lambda rows: len(rows) == count and all(r.status == outbox.SENT for r in rows), 20)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for other_store, sender, _ in extra:
            await sender.close()
            other_store.close()
    assert Counter(m.to for m in fake.accepted) == Counter(f"+1555555{n:04d}" for n in range(count))


async def test_a_provider_that_just_failed_is_passed_over(start, fake):
    client = await start("africastalking,twilio")
    fake.script("africastalking", 500)
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "uno"))
    await settled(client, lambda rows: rows[0].status == outbox.SENT)
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "dos"))
    rows = await settled(client, lambda rows: len(rows) == 2 and rows[1].status == outbox.SENT)
    # The second message went straight to Twilio: Africa's Talking failed moments ago.
    assert [r.provider for r in fake.received] == ["africastalking", "twilio", "twilio"]
    assert rows[1].attempts == 1


async def test_healthz_reports_backlog_and_oldest_age(start, fake, clock):
    client = await start("twilio")
    fake.script("twilio", "hang")
    await client.post("/africastalking/sms", data=payloads.at_sms(PERSON, "hola"))
    health = await (await client.get("/healthz")).json()
    assert health["ok"] is True and health["database"] == "ok"
    assert health["outbox"]["waiting"] == 1
    clock.advance(90)
    health = await (await client.get("/healthz")).json()
    assert health["outbox"]["oldest_pending_seconds"] >= 90


async def test_expired_sessions_are_unreadable_and_purged(start, clock):
    client = await start("console")
    await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, "5", session="to-expire"))
    now = client.app[keys.CLOCK]()
    assert await in_store(client, sessions.load, "ussd:africastalking:to-expire", now) is not None
    later = now + 11 * 60  # ussd_session_minutes is 10
    assert await in_store(client, sessions.load, "ussd:africastalking:to-expire", later) is None
    assert await in_store(client, sessions.purge_expired, later) == 1


ON_SQLITE = not (os.environ.get("DATABASE_URL") or "").startswith("postgres")
sqlite_only = pytest.mark.skipif(not ON_SQLITE, reason="the event loop runs SQLite transactions only")


def _stored_here(key: str, now: float) -> int:
    """Stores a session under key; returns the thread that ran the transaction."""
    sessions.save(key, "hash", "ussd", "{}", 0, False, now, now + 600)
    return threading.get_ident()


async def test_a_webhook_transaction_runs_on_the_event_loop_on_sqlite_and_on_a_thread_on_postgresql(start, clock):
    client = await start("console")
    ran_on = set()
    for n in range(20):  # start-up's own work (the purge, the dispatcher's first claims) may hold the lock
        ran_on.add(await client.app[keys.STORE].answer(_stored_here, f"ussd:test:{n}", clock()))
        await asyncio.sleep(0.05)
    # SQLite: a few statements on pages in memory cost less than the hand-off to a thread and back.
    # PostgreSQL: each statement is a network round trip, never waited for on the event loop.
    assert (threading.get_ident() in ran_on) == ON_SQLITE
    assert await in_store(client, ConversationSession.select().count) == 20  # committed


@sqlite_only
async def test_while_another_process_writes_a_webhook_transaction_waits_without_blocking_the_loop(
    start, database_url, clock
):
    client = await start("console")
    holder = sqlite3.connect(urlsplit(database_url).path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process (a second serve, run.py purge) is writing
    try:
        waiting = asyncio.create_task(client.app[keys.STORE].answer(_stored_here, "ussd:test:2", clock()))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the event loop went on (it would be stuck in SQLite's busy wait)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Then it was written: by the store's thread, which waited for the lock, or (when that thread was
    # itself waiting for the other process, with the dispatcher's claim) on the loop, once the thread let go.
    await waiting
    assert await in_store(client, sessions.load, "ussd:test:2", clock()) is not None


@sqlite_only
async def test_while_the_stores_thread_writes_a_webhook_waits_for_it_then_runs_on_the_event_loop(start, clock):
    client = await start("console")
    store = client.app[keys.STORE]
    inside = threading.Event()

    def long_write(now: float) -> None:  # the dispatcher's claim, a console action: the thread's own
        inside.set()
        time.sleep(0.3)
        sessions.save("ussd:test:thread", "h", "ussd", "{}", 0, False, now, now + 60)

    on_thread = asyncio.ensure_future(store.run(long_write, clock()))
    await asyncio.to_thread(inside.wait, 5)
    webhook = asyncio.create_task(store.answer(_stored_here, "ussd:test:loop", clock()))
    await asyncio.sleep(0.1)
    assert not webhook.done()  # the thread holds the write lock; the event loop went on meanwhile
    # Then the webhook ran on the event loop, not queued behind the thread (where every webhook after it
    # would have followed, each finding the lock taken by the one before).
    assert await webhook == threading.get_ident()
    await on_thread
    assert await in_store(client, ConversationSession.select().count) == 2


async def test_the_event_loop_and_the_stores_thread_write_in_turn_and_lose_nothing(start, clock):
    client = await start("console")
    store = client.app[keys.STORE]
    now = clock()
    writes = [
        (store.answer if n % 2 else store.run)(sessions.save, f"ussd:{n}", "h", "ussd", "{}", 0, False, now, now + 60)
        for n in range(200)
    ]
    await asyncio.gather(*writes)
    assert await in_store(client, ConversationSession.select().count) == 200


@sqlite_only
async def test_the_write_ahead_log_is_checkpointed_by_the_thread_while_the_loop_writes(
    start, database_url, clock, monkeypatch
):
    every = 50
    monkeypatch.setattr(db, "CHECKPOINT_AFTER", every)  # the shipped 1,000 in fewer transactions
    client = await start("console")
    store = client.app[keys.STORE]
    wal = Path(urlsplit(database_url).path + "-wal")
    sizes = []
    for n in range(every * 8):
        now = clock()
        await store.answer(sessions.save, f"ussd:test:{n}", "h", "ussd", "x" * 2000, 0, False, now, now + 60)
        if n % every == every - 1:
            await store.run(lambda: None)  # the checkpoint asked for has run
            sizes.append(wal.stat().st_size)
    # Each commit adds pages to the log; checkpointed, the log starts again from its beginning instead of
    # growing with every webhook (and the event loop never syncs the disk).
    assert max(sizes) < 2 * sizes[0]


async def test_a_service_starting_while_another_process_holds_the_sqlite_file_waits_for_it(start, database_url):
    """Several processes start on one SQLite file and one migrates (re-encrypting every row may take a while):
    the others wait for it instead of failing at their first locked BEGIN."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock; PostgreSQL's migrations wait on an advisory lock")
    client = await start("console")  # the file exists, migrated
    await client.close()
    path = database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process, writing
    release = asyncio.get_running_loop().call_later(1.0, other.execute, "COMMIT")
    try:
        # A lock wait of 100 ms: a service that gave up at its first locked BEGIN would fail to start.
        client = await start("console", DATABASE_URL=database_url + "?busy_timeout=100")
        response = await client.get("/healthz")
        assert response.status == 200
    finally:
        release.cancel()
        other.close()


async def test_the_look_up_for_a_dropped_session_on_every_dial_reads_only_midway_sessions(start, clock):
    client = await start("console")
    now = clock()

    def plan() -> str:
        # The statement as it runs (its own placeholders), with values of the right types.
        params = ("h", len("ussd:at:"), "ussd:at:", now - 600, now)
        if is_postgres():
            database.execute_sql("SET LOCAL enable_seqscan = off")  # a table this small is read whole anyway
            return " ".join(row[0] for row in database.execute_sql("EXPLAIN " + sessions._DROPPED.sql(), params))
        rows = database.execute_sql("EXPLAIN QUERY PLAN " + sessions._DROPPED.sql(), params)
        return " ".join(str(row[-1]) for row in rows)

    # Most dials end at the main menu and are stored as ended: the index holds none of them, and the
    # look-up does not visit one row per earlier dial of that person.
    assert "conversation_session_midway" in await in_store(client, plan)


async def test_the_daily_purge_forgets_only_replay_marks_older_than_the_window(start, clock):
    client = await start("console")
    now = clock()

    def marks() -> list[str]:
        return [digest for (digest,) in InboundSeen.select(InboundSeen.digest).order_by(InboundSeen.id).tuples()]

    def write(ages_in_days: list[float]) -> None:
        for n, age in enumerate(ages_in_days):
            InboundSeen.create(digest=f"mark-{n}", seen_at=now - age * 86400)

    # In the order they were written; the fourth came a moment late from another process.
    await in_store(client, write, [40, 39, 38.5, 37.5, 38.01, 10, 1])
    await in_store(client, inbound.forget_seen_before, now - 38 * 86400)
    # Everything older than the first mark still in the window is gone; that late mark waits for the next day.
    assert await in_store(client, marks) == ["mark-3", "mark-4", "mark-5", "mark-6"]
    await in_store(client, inbound.forget_seen_before, now)
    assert await in_store(client, marks) == []


async def test_the_purge_leaves_a_mark_for_every_message_it_deletes_so_none_can_be_replayed(start, clock):
    """A day's purge deletes many messages at once: each leaves its mark (they are written in chunks)."""
    from handlers.backoffice import retention
    from store.models import InboundMessage

    client = await start("console")
    old = clock() - 31 * 86400
    count = inbound.MARKS_AT_ONCE * 2 + 3

    def received() -> None:
        rows = [
            {"carrier": "twilio", "external_id": f"SM{n:032d}", "channel": "sms", "person": None,
             "text": "hola", "reply": None, "reply_ends": True, "received_at": old + n}
            for n in range(count)
        ]  # fmt: skip
        InboundMessage.insert_many(rows).execute()

    await in_store(client, received)
    assert not await in_store(client, inbound.first_delivery, "twilio", f"SM{count - 1:032d}")
    purged = await in_store(client, retention.purge, 30, 7, clock())
    assert purged.inbound == count and await in_store(client, InboundMessage.select().count) == 0
    assert await in_store(client, InboundSeen.select().count) == count
    for n in (0, inbound.MARKS_AT_ONCE, count - 1):
        assert not await in_store(client, inbound.first_delivery, "twilio", f"SM{n:032d}")  # still refused
    assert await in_store(client, inbound.first_delivery, "twilio", f"SM{count:032d}")  # never seen


async def test_when_a_person_was_last_seen_is_kept_to_the_day(start, clock):
    client = await start("console")
    phone = Phone(client, PERSON)
    await phone.send("MENU")
    first = await in_store(client, lambda: Person.get().last_seen_at)
    clock.advance(3600)
    await phone.send("MENU")
    assert await in_store(client, lambda: Person.get().last_seen_at) == first  # not every message
    clock.advance(86400)
    await phone.send("MENU")
    assert await in_store(client, lambda: Person.get().last_seen_at) >= first + 86400 + 3600


async def test_webhooks_committed_together_each_succeed_or_fail_alone(start, clock):
    client = await start("console")
    store = client.app[keys.STORE]
    now = clock()

    def save(key: str) -> str:
        sessions.save(key, "h", "ussd", "{}", 0, False, now, now + 60)
        return key

    def save_twice(key: str) -> str:
        save(key)
        ConversationSession.insert(  # the same unique key again: this one transaction fails
            key=key, phone_hash="h", channel="ussd", state="x", consumed=0, ended=False, updated_at=now, expires_at=now
        ).execute()
        return key

    # Ready in the same turn of the event loop: on SQLite one commit, each in its own savepoint.
    outcomes = await asyncio.gather(
        store.answer(save, "ussd:1"),
        store.answer(save_twice, "ussd:2"),
        store.answer(save, "ussd:3"),
        return_exceptions=True,
    )
    assert outcomes[0] == "ussd:1" and outcomes[2] == "ussd:3"
    assert isinstance(outcomes[1], peewee.IntegrityError)  # its caller hears it, as alone
    keys_kept = await in_store(client, lambda: sorted(s.key for s in ConversationSession.select()))
    assert keys_kept == ["ussd:1", "ussd:3"]  # the failed one left nothing, the others everything


@sqlite_only
async def test_a_webhook_given_up_before_its_turn_is_never_written(start, clock):
    client = await start("console")
    store = client.app[keys.STORE]
    now = clock()
    first = asyncio.ensure_future(store.answer(sessions.save, "ussd:kept", "h", "ussd", "{}", 0, False, now, now + 60))
    gone = asyncio.ensure_future(store.answer(sessions.save, "ussd:gone", "h", "ussd", "{}", 0, False, now, now + 60))
    await asyncio.sleep(0)  # both joined this turn's commit, which has not run yet
    gone.cancel()
    await first
    assert await in_store(client, lambda: [s.key for s in ConversationSession.select()]) == ["ussd:kept"]


async def test_on_postgresql_each_statement_is_prepared_once_per_connection(start, clock):
    if not is_postgres():
        pytest.skip("PostgreSQL parses and plans each statement; SQLite's module keeps them compiled itself")
    client = await start("console")

    def twice() -> tuple:
        found = [sessions._LOAD.one("ussd:test:none", clock()) for _ in range(2)]
        prepared = database.execute_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %s", (sessions._LOAD._name,)
        ).fetchone()[0]
        return (*found, prepared)

    assert await in_store(client, twice) == (None, None, 1)


@sqlite_only
async def test_a_group_commit_keeps_its_savepoints_journal_in_memory(start, clock):
    # Each webhook of a group commit runs in a savepoint, whose journal (the pages it changed, as they were,
    # to undo it alone) SQLite spills to a temporary file past 64 KiB unless told to keep temporary data in
    # memory: a file created, written and deleted in the middle of the webhooks' commit.
    client = await start("console")
    store = client.app[keys.STORE]
    now = clock()

    def open_temporary_files() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the descriptor listdir itself used is closed by now
                found += [link for link in [os.readlink(f"/proc/self/fd/{fd}")] if "etilqs" in link]
        return found  # SQLite names its temporary files etilqs_...

    def save_many(prefix: str, state: str) -> list[str]:
        for n in range(300):  # some 300 kB of pages, changed in this savepoint
            sessions.save(f"{prefix}:{n}", f"h{n}", "ussd", state * 1000, 0, False, now, now + 60)
        return open_temporary_files()

    await in_store(client, save_many, "ussd:a", "x")
    await in_store(client, save_many, "ussd:b", "x")
    # Pages that existed before the savepoint are the ones it journals.
    first, second = await asyncio.gather(store.answer(save_many, "ussd:a", "y"), store.answer(save_many, "ussd:b", "z"))
    assert first == second == []
    states = await in_store(client, lambda: sorted({s.state[0] for s in ConversationSession.select()}))
    assert states == ["y", "z"]
