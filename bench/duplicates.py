"""How many relays a person receives twice when the carrier takes a message but its answer never comes
(hang) or comes a byte at a time (trickle): 20 relays, the first attempt of each meets the fault, the
real dispatcher and SDKs against the fake carrier. Prints one line per carrier and fault.

    .venv/bin/python bench/duplicates.py [--lease 6] [--timeout 2] [--settle 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.metrics import Metrics  # noqa: E402
from gateway.outbox.dispatcher import Dispatcher  # noqa: E402
from gateway.outbox.policy import OutboxPolicy  # noqa: E402
from gateway.outbox.senders import build_senders  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from store import outbox  # noqa: E402
from store.crypto import configure_vault  # noqa: E402
from store.db import Store, database, open_database  # noqa: E402
from store.models import OutboxMessage  # noqa: E402
from store.schema import migrate  # noqa: E402
from tests.fake_carrier import HANG, FakeCarrier, Trickle  # noqa: E402

RELAYS = 20
PEOPLE = [f"+1555555{n:04d}" for n in range(100, 100 + RELAYS)]  # fictional +1 555-555-01xx numbers
FAULTS = {"hang": HANG, "trickle": Trickle(0.2)}
DONE = (outbox.SENT, outbox.DELIVERED, outbox.FAILED, outbox.UNDELIVERED)


async def measure(provider: str, fault: str, args) -> str:
    """Sends 20 relays through one provider whose first 20 requests meet the fault; how many arrived twice."""
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    async with FakeCarrier() as fake:
        directory = tempfile.mkdtemp(prefix="lifeline-duplicates-")
        settings = Settings.from_env(
            {
                "DATABASE_URL": f"sqlite:///{directory}/lifeline.db",
                "LIFELINE_CONFIG": str(ROOT / "config"),
                "LIFELINE_MENUS": str(ROOT / "menus"),
                "SMS_PROVIDERS": provider,
                "AT_USERNAME": fake.at_username,
                "AT_API_KEY": fake.at_api_key,
                "AT_API_URL": fake.url,
                "TWILIO_ACCOUNT_SID": fake.twilio_sid,
                "TWILIO_AUTH_TOKEN": fake.twilio_token,
                "TWILIO_FROM": "+15555550100",
                "TWILIO_API_URL": fake.url,
            }
        )
        # Every relay claimed at once, so the first 20 requests are the 20 first attempts.
        policy = OutboxPolicy(
            max_attempts=20,
            backoff_base_seconds=0.2,
            backoff_max_seconds=1.0,
            lease_seconds=args.lease,
            send_timeout_seconds=args.timeout,
            concurrency=32,
        )
        open_database(settings.database_url)
        configure_vault(b"bench-secret-key-that-is-long-enough-0123456789")
        store = Store()
        await store.run(migrate)
        senders = build_senders(settings, policy)
        dispatcher = Dispatcher(store, senders, policy, time.time, Metrics())
        now = time.time()
        for n, phone in enumerate(PEOPLE):
            body = f"Lifeline A{n:03d}: Ana Lopez pide ayuda en 77002. Responda OK A{n:03d}"
            message = outbox.NewMessage(f"bench-{n}", phone, body, "gsm7", 1, (provider,), tag=f"alert:A{n:03d}")
            await store.run(outbox.enqueue, message, now)
        fake.script(provider, *[FAULTS[fault]] * RELAYS)
        started = time.monotonic()
        task = asyncio.create_task(dispatcher.run())
        try:
            # Until every relay is recorded, then a while longer for any late duplicate (a stale lease).
            while time.monotonic() - started < args.limit:
                rows = await store.run(lambda: list(OutboxMessage.select()))
                if all(row.status in DONE for row in rows):
                    break
                await asyncio.sleep(0.2)
            settled = time.monotonic() - started
            await asyncio.sleep(args.settle)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            for sender in senders.values():
                await sender.close()
            await asyncio.to_thread(store.close)
            database.close()
        taken = Counter(message.to for message in fake.taken if message.provider == provider)
        twice = sum(1 for phone in PEOPLE if taken[phone] > 1)
        missing = sum(1 for phone in PEOPLE if taken[phone] == 0)
        posts = sum(1 for r in fake.received if r.provider == provider)
        return (
            f"{provider:<15} {fault:<8} received twice or more: {twice:>2}/{RELAYS}  never: {missing}/{RELAYS}  "
            f"copies taken: {sum(taken.values()):>3}  sends: {posts:>3}  look-ups: {len(fake.looked_up):>3}  "
            f"all recorded after {settled:.1f} s"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lease", type=float, default=6.0, help="outbox.lease_seconds")
    parser.add_argument("--timeout", type=float, default=2.0, help="outbox.send_timeout_seconds")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait for late duplicates")
    parser.add_argument("--limit", type=float, default=180.0, help="give up waiting after this many seconds")
    parser.add_argument("--only", help="provider:fault, e.g. africastalking:trickle")
    args = parser.parse_args()
    for provider in ("africastalking", "twilio"):
        for fault in FAULTS:
            if args.only and args.only != f"{provider}:{fault}":
                continue
            print(await measure(provider, fault, args), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
