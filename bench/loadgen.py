"""The load client of `make bench`, run in its own process: raw keep-alive HTTP/1.1 on uvloop, one request in
flight per connection (no pipelining), each connection one simulated person dialling again and again.

    python bench/loadgen.py --port P --scenario ussd-first --sessions 16 --tag a      (closed loop)
    python bench/loadgen.py --port P --scenario ussd-first --rate 1000 --tag a        (open loop)

It sends from the start, so the server warms up; the driver then writes `start` on standard input (the
counters restart: a request counts in the measure it was sent in), later `stop`: the client writes one JSON
line (requests, errors, latencies in µs) to standard output and exits. With several client processes the
driver starts and stops them together.

Closed loop: each session sends its next request when the last one is answered (throughput). Open loop:
one new dial every 1/rate seconds whatever the server does, each timed from when it was due, so a stalled
server shows as latency instead of as fewer requests (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import sys
import time
from urllib.parse import quote

import uvloop

SCENARIOS = ("ussd-first", "ussd-walk", "twilio-sms")
# A walk is one USSD session: the main menu, then My contacts, then "add" (a question).
WALK = ("", "5", "5*1")
TWILIO_TOKEN = "bench-twilio-token"  # the server under test runs with TWILIO_AUTH_TOKEN set to this
TWILIO_SID = "AC" + "0123456789abcdef" * 2


class Connection(asyncio.Protocol):
    """One keep-alive connection; `request` sends one request and waits for its whole response."""

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        answer = _response(self.buffer)
        if answer is not None:
            self.waiter.set_result(answer)

    async def request(self, raw: bytes) -> tuple[int, bytes, bool]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


def _response(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, keep-alive) of a complete response at the start of buffer (consumed), else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
    keep = b"connection: close" not in head
    start = end + 4
    if not chunked:
        if len(buffer) < start + length:
            return None
        body = bytes(buffer[start : start + length])
        del buffer[: start + length]
        return status, body, keep
    body = bytearray()
    at = start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        if len(buffer) < line_end + 2 + size + 2:
            return None
        body += buffer[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2
        if size == 0:
            del buffer[:at]
            return status, bytes(body), keep


class Requests:
    """Builds each request of a scenario: every session gets its own ids and phone number.

    The client must cost the server's machine little per request, so bodies are filled into templates
    instead of urlencode() (every value is URL-safe but the fixed ones, quoted once here), and the Twilio
    signature is Twilio's algorithm on a prepared HMAC rather than the SDK's RequestValidator, which costs
    as much as the bare server's whole request (tests/test_bench_client.py checks both agree, byte for
    byte, with urlencode and RequestValidator).
    """

    def __init__(self, scenario: str, port: int, tag: str, twilio_token: str = TWILIO_TOKEN):
        self.scenario = scenario
        self.host = f"127.0.0.1:{port}"
        self.tag = tag
        self.path = "/twilio/sms" if scenario == "twilio-sms" else "/africastalking/ussd"
        self.hops = [quote(text, safe="") for text in (WALK if scenario == "ussd-walk" else ("",))]
        self.head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
        )
        self.url = f"http://{self.host}{self.path}"  # what the server was told is its PUBLIC_URL
        self.hmac = hmac.new(twilio_token.encode(), digestmod=hashlib.sha1)

    def dial(self, session: int, dial: int, hop: int) -> bytes:
        # Fictional numbers (+1 555 555 xxxx), a different one per session and dial, so per-number limits
        # and one person's state never bind the load.
        digits = f"{(session * 7919 + dial) % 10000:04d}"
        ident = f"{self.tag}-{session}-{dial}"
        if self.scenario != "twilio-sms":
            body = (
                f"sessionId=bench-{ident}&serviceCode=%2A384%2A123%23&phoneNumber=%2B1555555{digits}"
                f"&networkCode=63902&text={self.hops[hop]}"
            )
            return f"{self.head}{len(body)}\r\n\r\n{body}".encode()
        # A new message each time (a repeated MessageSid would be answered as a replay, doing nothing).
        sid = "SM" + hashlib.md5(ident.encode()).hexdigest()
        body = (
            f"MessageSid={sid}&AccountSid={TWILIO_SID}&From=%2B1555555{digits}&To=%2B15555550100&Body=MENU&NumMedia=0"
        )
        # Twilio signs the URL followed by each parameter's name and value, sorted by name.
        signed = f"{self.url}AccountSid{TWILIO_SID}BodyMENUFrom+1555555{digits}MessageSid{sid}NumMedia0To+15555550100"
        mac = self.hmac.copy()
        mac.update(signed.encode())
        signature = base64.b64encode(mac.digest()).decode()
        return f"{self.head}{len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n{body}".encode()

    def good(self, status: int, body: bytes) -> bool:
        if status != 200:
            return False
        if self.scenario != "twilio-sms":
            return body.startswith((b"CON ", b"END "))
        return b"<Response" in body  # TwiML: the webhook took the message


class Tally:
    def __init__(self):
        self.latencies: list[int] = []  # µs
        self.errors = 0
        self.first_error = ""

    def error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what[:200]


async def connect(port: int) -> Connection:
    _, protocol = await asyncio.get_running_loop().create_connection(Connection, "127.0.0.1", port)
    return protocol


async def closed_loop(requests: Requests, port: int, sessions: int, state: dict) -> None:
    async def session(n: int) -> None:
        connection = await connect(port)
        dial = 0
        while not state["stopping"]:
            for hop in range(len(requests.hops)):
                raw = requests.dial(n, dial, hop)
                # Counted in the measure it was sent in: one sent during the warm-up (the first requests of
                # hundreds of new connections at once) does not bring its wait into the measured seconds.
                tally = state["tally"]
                started = time.perf_counter()
                try:
                    status, body, keep = await connection.request(raw)
                except ConnectionError as exc:
                    tally.error(str(exc))
                    connection = await connect(port)
                    break
                tally.latencies.append(int((time.perf_counter() - started) * 1e6))
                if not requests.good(status, body):
                    tally.error(f"{status} {body[:120]!r}")
                if not keep or connection.closed:
                    connection = await connect(port)
            dial += 1
        connection.transport.close()

    await asyncio.gather(*(session(n) for n in range(sessions)))


# Open loop: at most this many connections; a dial due while all are busy waits for one, and its wait
# counts in its latency (it was due).
OPEN_LOOP_CONNECTIONS = 1000


async def open_loop(requests: Requests, port: int, rate: float, state: dict) -> None:
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened = 0
    running: set[asyncio.Task] = set()

    async def one(n: int, due: float) -> None:
        nonlocal opened
        tally = state["tally"]  # the measure it was due in
        if idle.empty() and opened < OPEN_LOOP_CONNECTIONS:
            opened += 1
            connection = await connect(port)
        else:
            connection = await idle.get()
        try:
            status, body, keep = await connection.request(requests.dial(n, 0, 0))
        except ConnectionError as exc:
            tally.error(str(exc))
            opened -= 1
            return
        # From when the dial was due: time spent waiting for a connection or the loop counts too.
        tally.latencies.append(int((time.perf_counter() - due) * 1e6))
        if not requests.good(status, body):
            tally.error(f"{status} {body[:120]!r}")
        if keep and not connection.closed:
            idle.put_nowait(connection)
        else:
            opened -= 1

    begun = time.perf_counter()
    n = 0
    while not state["stopping"]:
        due = begun + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(one(n, due))
        running.add(task)
        task.add_done_callback(running.discard)
        n += 1
    for task in running:
        task.cancel()  # dials still waiting for a connection: not counted, the measure has ended
    await asyncio.gather(*running, return_exceptions=True)
    while not idle.empty():
        idle.get_nowait().transport.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scenario", choices=SCENARIOS, required=True)
    parser.add_argument("--sessions", type=int, default=16, help="closed loop: sessions at once")
    parser.add_argument("--rate", type=float, help="open loop: new dials per second")
    parser.add_argument("--tag", required=True, help="unique per client process and measure (session ids)")
    args = parser.parse_args()
    requests = Requests(args.scenario, args.port, args.tag)
    state = {"stopping": False, "tally": Tally()}
    if args.rate:
        load = asyncio.create_task(open_loop(requests, args.port, args.rate, state))
    else:
        load = asyncio.create_task(closed_loop(requests, args.port, args.sessions, state))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        line = (await reader.readline()).strip()
        if line == b"start":
            state["tally"] = Tally()
            started, cpu = time.perf_counter(), time.process_time()
        elif line in (b"stop", b""):
            break
        if load.done():
            break
    # What was answered by now: requests still in flight finish, uncounted.
    tally, elapsed, cpu = state["tally"], time.perf_counter() - started, time.process_time() - cpu
    latencies, errors = list(tally.latencies), tally.errors
    state["stopping"] = True
    try:
        async with asyncio.timeout(5):
            await load
    except TimeoutError:
        load.cancel()
    if load.done() and not load.cancelled() and load.exception():
        errors += 1
        tally.first_error = tally.first_error or repr(load.exception())[:200]
    result = {
        "requests": len(latencies),
        "seconds": elapsed,
        "cpu_seconds": cpu,  # this client's own CPU time: near `seconds`, it would be the bottleneck
        "errors": errors,
        "first_error": tally.first_error,
        "latencies_us": latencies,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    uvloop.run(main())
