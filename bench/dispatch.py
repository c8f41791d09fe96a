"""The outbox part of `make bench`, run in its own process with the Python path of the tree under test
(`--root`), so a bench of another checkout measures that checkout's dispatcher and store.

1. Throughput per sender: the real dispatcher (SQLite outbox: claim, send, mark sent) against a null
   dispatcher that sends the same messages through the same sender with the same concurrency, no database.
   Senders and policy are built as the service builds them (config/policy.yaml of the tree); HTTP senders
   send to the fake carrier at --carrier-url (its own process).
2. Claim cost: one claim of 16 messages (milliseconds, median of repeats, each rolled back so the backlog
   stays put) with 100, 10,000 and 30,000 messages pending.

Writes one JSON object to standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

CLAIM_BATCH = 16  # fixed, so checkouts with another dispatcher concurrency claim the same batch
FAKE_SID = "AC" + "0123456789abcdef" * 2  # tests/fake_carrier.py's default credentials
FAKE_TOKEN = "test-token"
FAKE_AT = ("sandbox-user", "at-test-key")
SECRET = b"bench-secret-key-bench-secret-key-0123"


def build_sender(name: str, root: Path, carrier_url: str, policy):
    """The sender the service would build for this provider (its settings and outbox policy), pointed at the
    fake carrier."""
    from gateway.outbox.senders import build_senders
    from gateway.settings import Settings

    settings = Settings.from_env(
        {
            "LIFELINE_CONFIG": str(root / "config"),
            "LIFELINE_MENUS": str(root / "menus"),
            "SMS_PROVIDERS": name,
            "AT_USERNAME": FAKE_AT[0],
            "AT_API_KEY": FAKE_AT[1],
            "AT_API_URL": carrier_url,
            "TWILIO_ACCOUNT_SID": FAKE_SID,
            "TWILIO_AUTH_TOKEN": FAKE_TOKEN,
            "TWILIO_FROM": "+15555550100",
            "TWILIO_API_URL": carrier_url,
        }
    )
    return build_senders(settings, policy)[name]


def message(n: int, provider: str):
    from store import outbox

    return outbox.NewMessage(f"bench-{n}", f"+1555555{n % 10000:04d}", "Lifeline bench message", "gsm7", 1, (provider,))


async def null_dispatch(sender, messages: int, concurrency: int) -> float:
    """The same sends with the same concurrency and no database: the ceiling for the dispatcher."""
    numbers = iter(range(messages))

    async def worker():
        for n in numbers:
            await sender.send(f"+1555555{n % 10000:04d}", "Lifeline bench message")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return messages / (time.perf_counter() - started)


async def real_dispatch(sender, messages: int, policy, db_path: str) -> float:
    """Enqueues `messages` in a fresh SQLite outbox, then times the dispatcher until all are sent."""
    from gateway.metrics import Metrics
    from gateway.outbox.dispatcher import Dispatcher
    from store import outbox
    from store.db import Store, open_database
    from store.schema import migrate

    open_database(f"sqlite:///{db_path}")
    store = Store()
    await store.run(migrate)
    now = time.time()

    def fill():
        for n in range(messages):
            outbox.enqueue(message(n, sender.name), now)

    await store.run(fill)
    dispatcher = Dispatcher(store, {sender.name: sender}, policy, time.time, Metrics())

    def sent_count():
        return outbox.OutboxMessage.select().where(outbox.OutboxMessage.status == outbox.SENT).count()

    started = time.perf_counter()
    task = asyncio.create_task(dispatcher.run())
    while await store.run(sent_count) < messages:
        if task.done():
            raise RuntimeError(f"dispatcher stopped: {task.exception()!r}")
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    store.close()
    return messages / elapsed


async def throughput(root: Path, carrier_url: str, messages: int) -> list[dict]:
    from gateway.policy import load_policy

    policy = load_policy(root / "config").outbox  # as deployed: config/policy.yaml over the defaults
    rows = []
    for name, count in (("console", messages * 4), ("twilio", messages), ("africastalking", messages // 2)):
        sender = build_sender(name, root, carrier_url, policy)
        try:
            await null_dispatch(sender, 50, policy.concurrency)  # warm connections
            # The null dispatcher before and after the real one, so a change in the machine's load in
            # between does not show as the outbox's cost.
            before = await null_dispatch(sender, count, policy.concurrency)
            with tempfile.TemporaryDirectory() as tmp:
                rate = await real_dispatch(sender, count, policy, f"{tmp}/outbox.db")
            after = await null_dispatch(sender, count, policy.concurrency)
        finally:
            await sender.close()
        rows.append(
            {
                "sender": name,
                "messages": count,
                "concurrency": policy.concurrency,
                "null_per_s": (before + after) / 2,
                "null_runs_per_s": [before, after],
                "outbox_per_s": rate,
            }
        )
    return rows


def claim_costs(backlogs: list[int], repeats: int) -> list[dict]:
    from store import outbox
    from store.db import database, open_database
    from store.schema import migrate

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{tmp}/claims.db")
        with database.atomic():
            migrate()
        filled = 0
        now = time.time()
        for backlog in backlogs:
            with database.atomic():
                for n in range(filled, backlog):
                    outbox.enqueue(message(n, "console"), now)
            filled = backlog
            timings = []
            for _ in range(repeats):
                with database.atomic() as transaction:
                    started = time.perf_counter()
                    claimed = outbox.claim_due(CLAIM_BATCH, now + 1, 60.0)
                    timings.append((time.perf_counter() - started) * 1000)
                    transaction.rollback()  # the backlog stays as it was for the next repeat
                if len(claimed) != min(CLAIM_BATCH, backlog):
                    raise RuntimeError(f"claimed {len(claimed)} of {backlog} pending")
            rows.append({"pending": backlog, "batch": CLAIM_BATCH, "ms_per_claim": statistics.median(timings)})
        database.close()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the Lifeline checkout to measure")
    parser.add_argument("--carrier-url", required=True)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from store.crypto import configure_vault

    configure_vault(SECRET)
    result = {
        "outbox": await throughput(args.root.resolve(), args.carrier_url, args.messages),
        "claims": claim_costs([100, 10_000, 30_000], args.repeats),
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:  # the event loop `serve` runs on (run.py), where the tree under test has it
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
