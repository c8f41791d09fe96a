"""The database blinks, for real: PostgreSQL backends killed with pg_terminate_backend, PostgreSQL refusing
connections, the SQLite file locked by another process. Connections are replaced, webhooks answer at once
while the database is away (and acknowledge nothing they could not store), and everything arrives after."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import yaml

from gateway import keys
from store import outbox
from store.db import DatabaseUnavailable, database
from store.models import InboundMessage, OutboxMessage
from tests import payloads
from tests.conftest import TEST_OUTBOX_POLICY, in_store
from tests.fake_carrier import Trickle
from tests.test_outbox import settled

PEOPLE = [f"+1555555{n:04d}" for n in range(120, 126)]  # fictional +1 555-555-01xx numbers
ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith("postgres")
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="kills PostgreSQL backends: runs when DATABASE_URL is a PostgreSQL database"
)
UNAVAILABLE_ES = "END Lifeline no puede responder en este momento. Intente de nuevo en unos minutos."


@pytest.fixture
def short_waits(config_dir):
    """Webhooks wait a moment for the database, not the shipped 5 s."""
    policy_file = config_dir / "policy.yaml"
    policy = yaml.safe_load(policy_file.read_text())
    policy["conversation"]["database_wait_seconds"] = 0.3
    policy_file.write_text(yaml.safe_dump(policy))


def terminate_other_backends(url: str) -> int:
    """What an operator (or a PostgreSQL restart) does to every connection of the service."""
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return sum(1 for (killed,) in cursor.fetchall() if killed)
    finally:
        conn.close()


@contextlib.contextmanager
def database_away(url: str):
    """PostgreSQL: the database refuses new connections and every open one is terminated. SQLite: another
    process holds the write lock. Either way nothing can be written until the block ends."""
    if url.startswith("postgres"):
        parts = urlsplit(url)
        name = parts.path.lstrip("/")
        maintenance = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
        maintenance.autocommit = True
        try:
            with maintenance.cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            yield
        finally:
            with maintenance.cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            maintenance.close()
    else:
        holder = sqlite3.connect(urlsplit(url).path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


async def post(client, path: str, form: dict):
    response = await client.post(path, data=form)
    return response.status, await response.text()


async def healthy(client, timeout: float = 30) -> dict:
    """Waits until /healthz answers 200 (the dispatcher retries the store with a growing pause)."""
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get("/healthz")
            if response.status == 200:
                return await response.json()
            await asyncio.sleep(0.1)


@postgres_only
async def test_killed_backends_are_replaced_and_every_sms_arrives_once(start, fake, database_url):
    client = await start("africastalking")
    first = payloads.at_sms(PEOPLE[0], "hola")
    assert (await post(client, "/africastalking/sms", first))[0] == 200
    await fake.wait_for(1)

    assert terminate_other_backends(database_url) >= 1  # the service's connections, all of them
    unavailable = 0
    for phone in PEOPLE[1:]:
        form = payloads.at_sms(phone, "hola")
        status, _ = await post(client, "/africastalking/sms", form)
        if status == 503:  # the carrier retries a 503
            unavailable += 1
            status, _ = await post(client, "/africastalking/sms", form)
        assert status == 200
    assert unavailable <= 1
    status, screen = await post(client, "/africastalking/ussd", payloads.at_ussd(PEOPLE[0], "", session="after-kill"))
    assert (status, screen.split("\n")[0]) == (200, "CON Lifeline")

    await fake.wait_for(len(PEOPLE))
    await settled(client, lambda rows: all(r.status == outbox.SENT for r in rows))
    assert Counter(m.to for m in fake.accepted) == Counter(PEOPLE)  # every SMS once, none lost
    assert (await healthy(client))["database"] == "ok"


async def test_while_the_database_is_away_webhooks_answer_at_once_and_acknowledge_nothing(
    start, fake, database_url, short_waits
):
    client = await start("africastalking,twilio")
    assert (await post(client, "/africastalking/sms", payloads.at_sms(PEOPLE[0], "hola")))[0] == 200
    await fake.wait_for(1)
    texts = [payloads.at_sms(phone, "hola") for phone in PEOPLE[1:]]
    dial = payloads.at_ussd(PEOPLE[0], "", session="during-outage")

    with database_away(database_url):
        # Several at once: none waits behind another for the database (a timeout here would be a hang).
        async with asyncio.timeout(20):
            answers = await asyncio.gather(
                *(post(client, "/africastalking/sms", form) for form in texts),
                post(client, "/africastalking/ussd", dial),
                client.get("/healthz"),
            )
        *sms_answers, ussd_answer, health = answers
        assert [status for status, _ in sms_answers] == [503] * len(texts)  # the carrier will retry
        assert ussd_answer == (200, UNAVAILABLE_ES)  # the person is told, nothing was done
        assert health.status == 503

    assert await in_store(client, InboundMessage.select().count) == 1  # nothing stored meanwhile
    for form in texts:  # the carrier's retries
        assert (await post(client, "/africastalking/sms", form))[0] == 200
    status, screen = await post(client, "/africastalking/ussd", dial)
    assert (status, screen.split("\n")[0]) == (200, "CON Lifeline")
    await fake.wait_for(len(PEOPLE))
    await settled(client, lambda rows: all(r.status == outbox.SENT for r in rows))
    assert Counter(m.to for m in fake.accepted) == Counter(PEOPLE)
    await healthy(client)


async def test_a_send_whose_record_failed_is_taken_over_after_the_lease(
    start, fake, database_url, clock, caplog, short_waits
):
    caplog.set_level(logging.WARNING)
    # On SQLite each failed write waits for the lock a moment only, so the dispatcher gives up quickly.
    url = database_url if ON_POSTGRES else database_url + "?busy_timeout=100"
    client = await start("africastalking", DATABASE_URL=url)
    # The carrier takes the SMS and answers slowly: the database goes away before its answer arrives.
    fake.script("africastalking", Trickle(seconds_per_byte=0.001))
    assert (await post(client, "/africastalking/sms", payloads.at_sms(PEOPLE[0], "hola")))[0] == 200
    await fake.wait_taken(1)

    with database_away(url):
        await fake.wait_for(1)  # the carrier accepted it: the dispatcher tries to record that, and cannot
        async with asyncio.timeout(30):
            while not any(r.getMessage() == "send task crashed" for r in caplog.records):
                await asyncio.sleep(0.05)

    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert row.status == outbox.SENDING  # the send is not recorded: only the lease says what to do
    clock.advance(TEST_OUTBOX_POLICY["lease_seconds"] + 1)
    client.app[keys.DISPATCHER].wake()
    await fake.wait_for(2)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    # Taken over and sent again: the person gets the answer twice rather than never.
    assert [m.to for m in fake.accepted] == [PEOPLE[0], PEOPLE[0]]
    assert row.attempts == 2
    await healthy(client)


@pytest.mark.skipif(ON_POSTGRES, reason="breaks the SQLite handle of the store's thread: runs on SQLite")
async def test_a_broken_sqlite_handle_is_replaced_on_the_next_transaction(start, fake):
    client = await start("africastalking")

    def break_handle():
        database.connection().close()  # what an I/O failure leaves behind: a handle that no longer works

    with pytest.raises(DatabaseUnavailable):
        await in_store(client, break_handle)
    assert (await post(client, "/africastalking/sms", payloads.at_sms(PEOPLE[0], "hola")))[0] == 200
    await fake.wait_for(1)
    assert (await client.get("/healthz")).status == 200
