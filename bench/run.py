"""`make bench`: Lifeline against baselines measured in the same run, printed as ratios.

1. USSD webhook: `run.py serve` against a bare aiohttp handler (same route, same form parsing, no
   database), each in its own process, driven by one load client on loopback.
2. Outbox dispatch: the real dispatcher (SQLite outbox: claim, send, record) against a null dispatcher
   that sends the same messages through the same sender with the same concurrency, no database.
   HTTP providers send to the fake carrier running in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.carriers.africastalking import AfricasTalkingSender  # noqa: E402
from gateway.carriers.console import ConsoleSender  # noqa: E402
from gateway.carriers.twilio import TwilioSender  # noqa: E402
from gateway.metrics import Metrics  # noqa: E402
from gateway.outbox.dispatcher import Dispatcher  # noqa: E402
from gateway.outbox.policy import OutboxPolicy  # noqa: E402
from store import outbox  # noqa: E402
from store.crypto import configure_vault  # noqa: E402
from store.db import Store, database, open_database  # noqa: E402
from store.schema import migrate  # noqa: E402
from tests.fake_carrier import FakeCarrier  # noqa: E402

# The fake carrier process runs with its default credentials.
CARRIER = FakeCarrier()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def spawn(args: list[str], env: dict, ready_url: str, session: aiohttp.ClientSession):
    process = await asyncio.create_subprocess_exec(
        *args, env=env, cwd=env.get("BENCH_CWD"), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    async with asyncio.timeout(30):
        while True:
            try:
                async with session.get(ready_url) as response:
                    if response.status < 500:
                        return process
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)


async def stop(process) -> None:
    process.terminate()
    await process.wait()


# --- 1. USSD webhook throughput -------------------------------------------------------------------


async def load(session: aiohttp.ClientSession, url: str, dials: int, concurrency: int, tag: str, hops: list[str]):
    """`dials` USSD sessions, each walking `hops` (cumulative texts), `concurrency` sessions at once.

    Returns (requests per second, latency of every request)."""
    latencies: list[float] = []
    counter = iter(range(dials))

    async def worker():
        for n in counter:
            for text in hops:
                form = {
                    "sessionId": f"bench-{tag}-{n}",
                    "serviceCode": "*384*123#",
                    "phoneNumber": f"+1555555{n % 10000:04d}",
                    "networkCode": "63902",
                    "text": text,
                }
                started = time.perf_counter()
                async with session.post(url, data=form) as response:
                    body = await response.text()
                latencies.append(time.perf_counter() - started)
                if response.status != 200 or not body.startswith(("CON ", "END ")):
                    raise RuntimeError(f"unexpected answer {response.status}: {body[:80]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return dials * len(hops) / (time.perf_counter() - started), latencies


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


# Each walk is one USSD session: the first hop (main menu), then My contacts, then "add" (a question).
WALKS = {"first hop": [""], "3-hop walk": ["", "5", "5*1"]}


async def bench_ussd(dials: int, concurrency: int) -> list[tuple]:
    tmp = tempfile.mkdtemp(prefix="lifeline-bench-")
    env = {
        **os.environ,
        "BENCH_CWD": tmp,
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "LIFELINE_CONFIG": str(ROOT / "config"),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "LIFELINE_SECRET_KEY": "bench-secret-key-bench-secret-key-0123",
        "SMS_PROVIDERS": "console",
    }
    rows = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        results = {}
        for name, args in (
            ("bare aiohttp handler", [sys.executable, str(ROOT / "bench" / "bare_server.py")]),
            ("lifeline serve", [sys.executable, str(ROOT / "run.py"), "serve"]),
        ):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            process = await spawn(args + ["--port", str(port)], env, base + "/healthz", session)
            try:
                url = base + "/africastalking/ussd"
                await load(session, url, 200, concurrency, f"warm-{name}", [""])
                for walk, hops in WALKS.items():
                    results[(walk, name)] = await load(
                        session, url, dials // len(hops), concurrency, f"{walk}-{name}", hops
                    )
            finally:
                await stop(process)
    for walk in WALKS:
        bare_rps = results[(walk, "bare aiohttp handler")][0]
        for name in ("bare aiohttp handler", "lifeline serve"):
            rps, lat = results[(walk, name)]
            rows.append(
                (
                    f"USSD {walk}: {name}",
                    f"{rps:,.0f} req/s",
                    f"p50 {percentile(lat, 50) * 1000:.2f} ms, p99 {percentile(lat, 99) * 1000:.2f} ms",
                    f"{rps / bare_rps:.2f}x",
                )
            )
    return rows


# --- 2. Outbox dispatch ---------------------------------------------------------------------------


def build_sender(name: str, carrier_url: str | None, timeout: float):
    if name == "console":
        return ConsoleSender()
    if name == "twilio":
        return TwilioSender(CARRIER.twilio_sid, CARRIER.twilio_token, "+15555550100", carrier_url, None, timeout)
    return AfricasTalkingSender(CARRIER.at_username, CARRIER.at_api_key, carrier_url, None, timeout)


async def null_dispatch(sender, messages: int, concurrency: int) -> float:
    """The same sends with the same concurrency and no database: the ceiling for the dispatcher."""
    numbers = iter(range(messages))

    async def worker():
        for n in numbers:
            await sender.send(f"+1555555{n % 10000:04d}", "Lifeline bench message")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return messages / (time.perf_counter() - started)


async def real_dispatch(sender, messages: int, policy: OutboxPolicy, db_path: str) -> float:
    """Enqueues `messages` in a fresh SQLite outbox, then times the dispatcher until all are sent."""
    open_database(f"sqlite:///{db_path}")
    store = Store()
    await store.run(migrate)
    now = time.time()

    def fill():
        for n in range(messages):
            outbox.enqueue(
                outbox.NewMessage(
                    f"bench-{n}", f"+1555555{n % 10000:04d}", "Lifeline bench message", "gsm7", 1, (sender.name,)
                ),
                now,
            )

    await store.run(fill)
    dispatcher = Dispatcher(store, {sender.name: sender}, policy, time.time, Metrics())

    def sent_count():
        return outbox.OutboxMessage.select().where(outbox.OutboxMessage.status == outbox.SENT).count()

    started = time.perf_counter()
    task = asyncio.create_task(dispatcher.run())
    while await store.run(sent_count) < messages:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    store.close()
    return messages / elapsed


async def bench_dispatch(messages: int) -> list[tuple]:
    configure_vault(b"bench-secret-key-bench-secret-key-0123")
    policy = OutboxPolicy()
    rows = []
    port = free_port()
    carrier_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    async with aiohttp.ClientSession() as session:
        carrier = await spawn(
            [sys.executable, "-m", "tests.fake_carrier", "--port", str(port)],
            {**env, "BENCH_CWD": str(ROOT)},
            carrier_url + "/",
            session,
        )
    try:
        for name, count in (("console", messages), ("twilio", messages), ("africastalking", messages // 2)):
            sender = build_sender(name, carrier_url, policy.send_timeout_seconds)
            try:
                await null_dispatch(sender, 50, policy.concurrency)  # warm connections
                ceiling = await null_dispatch(sender, count, policy.concurrency)
                with tempfile.TemporaryDirectory() as tmp:
                    rate = await real_dispatch(sender, count, policy, f"{tmp}/outbox.db")
            finally:
                await sender.close()
            rows.append((f"dispatch to {name}: null dispatcher", f"{ceiling:,.0f} msg/s", f"{count} messages", "1.00x"))
            rows.append(
                (
                    f"dispatch to {name}: SQLite outbox",
                    f"{rate:,.0f} msg/s",
                    f"{count} messages",
                    f"{rate / ceiling:.2f}x",
                )
            )
    finally:
        await stop(carrier)
        database.close()
    return rows


# --- 3. Alert to first relay ---------------------------------------------------------------------


async def bench_alert_latency(alerts: int, concurrency: int) -> list[tuple]:
    """Time from the ALERTA webhook being posted to the first relay reaching the fake carrier (Twilio API),
    with `serve` and the fake carrier each in their own process; p50 and p99 over many alerts."""
    tmp = tempfile.mkdtemp(prefix="lifeline-bench-")
    carrier_port, port = free_port(), free_port()
    carrier_url, base = f"http://127.0.0.1:{carrier_port}", f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BENCH_CWD": tmp,
        "NO_PROXY": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "LIFELINE_CONFIG": str(ROOT / "config"),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "LIFELINE_SECRET_KEY": "bench-secret-key-bench-secret-key-0123",
        "SMS_PROVIDERS": "twilio",
        "TWILIO_ACCOUNT_SID": CARRIER.twilio_sid,
        "TWILIO_AUTH_TOKEN": CARRIER.twilio_token,
        "TWILIO_FROM": "+15555550100",
        "TWILIO_API_URL": carrier_url,
        # A trial on loopback: serve refuses carriers' callbacks without a token or a public URL otherwise.
        "LIFELINE_ALLOW_INSECURE_CALLBACKS": "1",
        "AT_USERNAME": "sandbox",  # alerts arrive on Africa's Talking's webhook, mounted only for an AT account
    }
    fake = FakeCarrier()
    await fake.start(carrier_port)  # in this process: it timestamps each relay as it arrives
    first_relay: dict[str, float] = {}
    original = fake._accept_message

    def timed(message):
        original(message)
        if message.body.startswith("ALERTA") and message.body.split(":")[0] not in first_relay:
            first_relay[message.body.split(":")[0]] = time.perf_counter()

    fake._accept_message = timed
    latencies = []
    async with aiohttp.ClientSession() as session:
        server = await spawn(
            [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port)], env, base + "/healthz", session
        )
        try:
            numbers = iter(range(alerts))

            async def worker():
                for n in numbers:
                    form = {
                        "from": f"+1713555{n:04d}",
                        "to": "12345",
                        "text": "ALERTA",
                        "date": "2026-11-23",
                        "id": f"bench-alert-{n}",
                        "linkId": "x",
                        "networkCode": "63902",
                    }
                    started = time.perf_counter()
                    async with session.post(base + "/africastalking/sms", data=form) as response:
                        assert response.status == 200
                    starts.append(started)

            starts: list[float] = []
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            async with asyncio.timeout(60):
                while len(first_relay) < alerts:
                    await asyncio.sleep(0.01)
        finally:
            await stop(server)
            await fake.stop()
    # Only the server knows which reference belongs to which webhook, so starts and first relays are
    # paired in time order: exact for one alert in flight, approximate (per percentile) for several.
    latencies = [relay - start for start, relay in zip(sorted(starts), sorted(first_relay.values()), strict=True)]
    return [
        (
            "ALERTA webhook to first relay at the carrier",
            f"{alerts} alerts",
            f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms",
            "-",
        )
    ]


def print_table(rows: list[tuple]) -> None:
    headers = ("measure", "rate", "detail", "ratio")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(4)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="USSD requests per measure")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=200)
    args = parser.parse_args()
    rows = await bench_ussd(args.requests, args.concurrency)
    rows += await bench_dispatch(args.messages)
    rows += await bench_alert_latency(args.alerts, 4)
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
