"""Two `serve` processes on one database, as a deployment scales out: they share the outbox, and every
message reaches the carrier exactly once, whichever process wrote it and whichever sent it."""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter

import aiohttp

from store import outbox
from store.crypto import configure_vault
from store.db import database, open_database
from store.models import OutboxMessage
from tests import payloads
from tests.conftest import ROOT, SECRET, set_outbox_policy
from tests.test_restart import TOKEN, Server

# Fictional numbers (713 555-01xx): Houston, so an ALERT reaches the consulate's duty phones too.
PEOPLE = [f"+1713555{n:04d}" for n in range(100, 160)]
SENT = re.compile(r'^lifeline_send_attempts_total\{provider="africastalking",result="sent"\} (\d+)', re.MULTILINE)


async def sent_by(session: aiohttp.ClientSession, server: Server) -> int:
    """How many sends this process made that the carrier accepted (its own /metrics)."""
    async with session.get(server.url + "/metrics") as response:
        found = SENT.search(await response.text())
    return int(float(found.group(1))) if found else 0


async def test_two_processes_on_one_database_send_every_message_exactly_once(fake, database_url, config_dir, tmp_path):
    # Retried often and for long: the carrier is away while the outbox fills, and nothing may be given up.
    # Sends and leases as long as in production: a send cut short, or a claim taken over, on a busy test
    # machine would be sent again by design (Africa's Talking cannot be asked whether it took it).
    set_outbox_policy(
        config_dir,
        max_attempts=1000,
        backoff_base_seconds=0.05,
        backoff_max_seconds=0.2,
        send_timeout_seconds=15,
        lease_seconds=60,
        # A few sends in flight each: the backlog takes many claims, and neither process takes it all in
        # one or two (on SQLite a process whose claims run between its own sends may otherwise win them all).
        concurrency=8,
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NO_PROXY": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "LIFELINE_CONFIG": str(config_dir),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "LIFELINE_SECRET_KEY": SECRET,
        "SMS_PROVIDERS": "africastalking",
        "AT_USERNAME": fake.at_username,
        "AT_API_KEY": fake.at_api_key,
        "AT_API_URL": fake.url,
        "AT_CALLBACK_TOKEN": TOKEN,
    }
    # The carrier refuses while people write to both processes: when it comes back, both dispatchers go
    # for the same backlog at the same moment.
    await fake.refuse()
    async with aiohttp.ClientSession() as session:
        servers = [Server(env, tmp_path), Server(env, tmp_path)]
        try:
            for server in servers:  # one after the other: the first creates the schema
                await server.start(session)

            async def write(n: int, phone: str) -> None:
                text = "ALERTA" if n % 3 == 0 else "hola"
                url = servers[n % 2].url + f"/africastalking/sms?token={TOKEN}"
                async with session.post(url, data=payloads.at_sms(phone, text, f"two-{n}")) as response:
                    assert response.status == 200

            await asyncio.gather(*(write(n, phone) for n, phone in enumerate(PEOPLE)))
            await fake.accept()
            open_database(database_url)  # the outbox as both processes share it
            configure_vault(SECRET.encode("utf-8"))
            async with asyncio.timeout(60):  # a guard against hanging, not a speed test
                while True:
                    rows = list(OutboxMessage.select())
                    # Each process counts its own sends (/metrics) just after writing them down.
                    counts = [await sent_by(session, server) for server in servers]
                    if rows and {row.status for row in rows} == {outbox.SENT} and sum(counts) >= len(rows):
                        break
                    await asyncio.sleep(0.1)
            database.close()
        finally:
            for server in servers:
                await server.stop()

    assert len(rows) > len(PEOPLE)  # a reply to each person, and the alerts' relays
    assert all(count > 0 for count in counts), counts  # both dispatchers sent part of the backlog
    assert sum(counts) == len(rows)  # no message was sent by both
    # At the carrier: every message of the outbox, each exactly once (a relay and a reply never repeat).
    assert Counter((m.to, m.body) for m in fake.taken) == Counter((row.to, row.body) for row in rows)
    assert len(fake.taken) == len(rows)
