"""`make bench`: Lifeline against two baselines measured in the same run, printed as a table and written as
JSON (bench/results/latest.json, or --json PATH). README.md, "Reading `make bench`", explains each row.

Every server runs in its own process; the load comes from other processes (bench/loadgen.py: raw keep-alive
HTTP/1.1 on uvloop, one request in flight per connection, each connection one person's session), two a
measure by default. The servers run side by side, each measure taken on the three back to back, in two
stretches in alternating order.

1. Webhooks: USSD first hop, 3-hop USSD walk and a signed Twilio SMS, at 16 and 200 sessions, on
   (a) bench/bare_server.py: the same routes and form parsing, a fixed answer;
   (b) bench/floor_server.py: the stateful floor, (a) plus loading and saving one session row in SQLite;
   (c) `run.py serve`.
   req/s, p50/p99/max latency, server CPU µs per request (/proc/<pid>/stat over the measured seconds),
   peak RSS. The bare handler is also driven by one client process and by twice the default: its figure
   must not rise with more clients (else the clients, not the server, were the limit).
2. Open loop: first hops arriving at a fixed rate (1,000/s for 10 s; --long: 5 minutes): p99 and the
   longest wait (a pause of the process shows there).
3. ALERTA → first and last relay at the fake carrier (Twilio API), one alert at a time, then 200 alerts 4 at
   a time; each relay is matched to its alert by the sender's number it names.
4. Outbox throughput per sender against a null dispatcher, and the cost of a claim at 100 / 10k / 30k
   pending (bench/dispatch.py, in its own process with the tree under test on its path).
5. Start time (spawn to the first 200 from /healthz) and idle RSS of `run.py serve`.
6. bench/places.py and bench/console.py, as they print.
7. Scale-out on PostgreSQL (BENCH_POSTGRES_URL, default the local server as postgres; skipped when it does
   not answer): USSD first hop @16 on one `run.py serve`, then on two sharing one database, each in a
   database of its own created for the run: req/s, p50/p99, the serve processes' and PostgreSQL's CPU µs
   per request, and two processes' serve CPU per request over one's. `--only scale-out` runs it alone.

--target DIR measures another checkout (its .venv, run.py, config, menus, store) with this tree's load
client and baselines: the "before" of a before/after table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_carrier import FakeCarrier  # noqa: E402

SECRET = "bench-secret-key-bench-secret-key-0123"
TWILIO_TOKEN = "bench-twilio-token"  # bench/loadgen.py signs with it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SCENARIOS = (("ussd-first", "USSD first hop"), ("ussd-walk", "USSD 3-hop walk"), ("twilio-sms", "Twilio SMS, signed"))
SESSIONS = (16, 200)
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # BENCH_POSTGRES_URL overrides it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float:
    """User + system CPU time of the process, all its threads."""
    fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# A client backend's title: "postgres: [cluster: ]user database host(port)|[local] state".
CLIENT_BACKEND = re.compile(r"^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def postgres_cpu(database: str, proc: Path = Path("/proc")) -> dict[int, float]:
    """CPU seconds of each PostgreSQL process working for `database`, by pid: the postmaster, the background
    processes every database shares (WAL writer, checkpointer...) and the backends connected to it. Other
    databases' backends (a test run on the same server) are left out. Empty when no PostgreSQL process is
    visible here (a server on another host or in a container)."""
    found = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            backend = CLIENT_BACKEND.match(title)
            if backend and backend.group(1) != database:
                continue
            found[int(entry.name)] = cpu_seconds(int(entry.name), proc)
        except OSError:
            continue  # ended between the listing and the reading
    return found


def postgres_admin(url: str) -> tuple[psycopg2.extensions.connection | None, str]:
    """An autocommit connection to the PostgreSQL server at url (CREATE and DROP DATABASE), or None and why."""
    parts = urlsplit(url)
    try:
        connection = psycopg2.connect(url, connect_timeout=3)
    except psycopg2.Error as exc:
        # Where it looked, without the password the URL may hold.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"{parts.hostname}:{parts.port or 5432}"
        return None, f"cannot connect to PostgreSQL at {where} ({reason}); set BENCH_POSTGRES_URL"
    connection.autocommit = True
    return connection, ""


def memory_mb(pid: int) -> dict[str, float]:
    """Resident set now and at its peak (VmRSS, VmHWM), in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return {"rss_mb": found["VmRSS"], "peak_rss_mb": found["VmHWM"]}


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


class Server:
    """A server process under test; `start_seconds` is spawn to the first 200 from /healthz."""

    def __init__(self, name: str, args: list[str], env: dict, cwd: str, port: int):
        self.name, self.args, self.env, self.cwd, self.port = name, args, env, cwd, port
        self.process: asyncio.subprocess.Process | None = None
        self.start_seconds = 0.0
        self.log = Path(cwd) / f"{name.replace(' ', '-')}.log"

    async def __aenter__(self) -> Server:
        started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            async with aiohttp.ClientSession() as session, asyncio.timeout(60):
                while True:
                    if self.process.returncode is not None:
                        raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
                    try:
                        async with session.get(url) as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.01)
        except BaseException:
            await self.__aexit__()  # a server that never answered is not left running
            raise
        self.start_seconds = time.perf_counter() - started
        return self

    async def __aexit__(self, *exc) -> None:
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            async with asyncio.timeout(10):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid


class Bench:
    def __init__(self, args):
        self.args = args
        self.target = (args.target or ROOT).resolve()
        self.target_python = str(self.target / ".venv" / "bin" / "python") if args.target else sys.executable
        self.tmp = Path(tempfile.mkdtemp(prefix="lifeline-bench-"))
        self.result: dict = {"webhooks": [], "open_loop": [], "start": []}
        self.measures = 0

    # -- load ----------------------------------------------------------------------------------

    async def load(
        self,
        server: Server,
        scenario: str,
        sessions: int = 0,
        rate: float = 0.0,
        clients: int = 0,
        seconds: float | None = None,
    ) -> dict:
        """One measure in one stretch of time."""
        clients = clients or (1 if rate else self.args.clients)
        taken = await self.stretch(server, scenario, sessions, rate, clients, seconds or self.args.seconds)
        return self.figures(server, scenario, sessions, rate, clients, [taken])

    async def stretch(
        self,
        server: Server | list[Server],
        scenario: str,
        sessions: int,
        rate: float,
        clients: int,
        seconds: float,
        warmup: float | None = None,
        database: str | None = None,
    ) -> dict:
        """Drives the server from `clients` load processes; what was answered over the measured seconds only.

        Given several servers (processes on one database), load process n drives server n % len(servers),
        and `cpu` is theirs summed; given a PostgreSQL database, `postgres_cpu` is its processes' too."""
        self.measures += 1
        servers = server if isinstance(server, list) else [server]
        server = servers[0]  # its name in errors
        processes = []
        for n in range(clients):
            extra = ["--rate", str(rate / clients)] if rate else ["--sessions", str(sessions // clients)]
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(ROOT / "bench" / "loadgen.py"),
                    "--port",
                    str(servers[n % len(servers)].port),
                    "--scenario",
                    scenario,
                    *extra,
                    "--tag",
                    f"m{self.measures}c{n}",
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
        await asyncio.sleep(self.args.warmup if warmup is None else warmup)
        postgres_before = postgres_cpu(database) if database else {}
        cpu_before = sum(cpu_seconds(s.pid) for s in servers)
        for process in processes:
            if process.returncode is None:
                process.stdin.write(b"start\n")
                await process.stdin.drain()
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        for process in processes:
            if process.returncode is None:
                process.stdin.write(b"stop\n")
                await process.stdin.drain()
        cpu = sum(cpu_seconds(s.pid) for s in servers) - cpu_before
        elapsed = time.perf_counter() - started
        taken: dict = {"cpu": cpu, "elapsed": elapsed}
        if database:
            # A process started during the measure (a backend for a new connection) counts from zero; one
            # that ended is lost (backends live as long as the store's connections, for the whole run).
            after = postgres_cpu(database)
            spent = sum(t - postgres_before.get(pid, 0.0) for pid, t in after.items())
            taken["postgres_cpu"] = spent if after else None
        outputs = []
        for process in processes:
            output = (await process.communicate())[0]
            if process.returncode or not output:
                raise RuntimeError(f"a load client of {server.name} {scenario} failed (exit {process.returncode})")
            outputs.append(json.loads(output))
        return {"outputs": outputs, **taken}

    def figures(
        self, server: Server, scenario: str, sessions: int, rate: float, clients: int, stretches: list[dict]
    ) -> dict:
        """The figures of one measure over all its stretches of time."""
        outputs = [output for taken in stretches for output in taken["outputs"]]
        cpu = sum(taken["cpu"] for taken in stretches)
        elapsed = sum(taken["elapsed"] for taken in stretches)
        latencies = sorted(v / 1000 for output in outputs for v in output["latencies_us"])
        requests = len(latencies)
        errors = sum(output["errors"] for output in outputs)
        figures = {
            "server": server.name,
            "scenario": scenario,
            "sessions": sessions or None,
            "rate": rate or None,
            "clients": clients,
            "seconds": round(elapsed, 2),
            "stretches": len(stretches),
            "requests": requests,
            "req_per_s": requests / elapsed,
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else float("nan"),
            "cpu_us_per_req": cpu / requests * 1e6 if requests else float("nan"),
            # Near 1.0 (a core) the server is the limit; well below, something else is: the client, or
            # other work on the machine taking the cores.
            "server_cpu_share": cpu / elapsed,
            "client_cpu_share": max(o["cpu_seconds"] / o["seconds"] for o in outputs),
            "errors": errors,
            **memory_mb(server.pid),
        }
        if errors:
            figures["first_error"] = next(o["first_error"] for o in outputs if o["errors"])
            print(f"  ! {server.name} {scenario}: {errors} errors, first: {figures['first_error']}", file=sys.stderr)
        return figures

    # -- servers ---------------------------------------------------------------------------------

    def lifeline_env(self, port: int, work: Path, **extra: str) -> dict:
        return {
            **os.environ,
            **NO_PROXY,
            "DATABASE_URL": f"sqlite:///{work}/lifeline.db",
            "LIFELINE_CONFIG": str(self.target / "config"),
            "LIFELINE_MENUS": str(self.target / "menus"),
            "LIFELINE_SECRET_KEY": SECRET,
            "AT_USERNAME": "sandbox",  # Africa's Talking's sandbox: the USSD and SMS webhooks, no token
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,  # the Twilio webhook, checking signatures with it
            "PUBLIC_URL": f"http://127.0.0.1:{port}",  # what the load client signs
            "SMS_PROVIDERS": "console",
            **extra,
        }

    def server(self, kind: str, **extra: str) -> Server:
        """A baseline (bare, floor, floor thread) or `run.py serve` (extra: more of its environment)."""
        port = free_port()
        work = self.tmp / kind.replace(" ", "-")
        work.mkdir()
        env = {**os.environ, **NO_PROXY, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_URL": f"http://127.0.0.1:{port}"}
        if kind == "bare":
            args = [sys.executable, str(ROOT / "bench" / "bare_server.py")]
        elif kind.startswith("floor"):
            args = [sys.executable, str(ROOT / "bench" / "floor_server.py"), "--db", str(work / "floor.db")]
            args += ["--thread"] if kind == "floor thread" else []
        else:
            args = [self.target_python, str(self.target / "run.py"), "serve"]
            env = self.lifeline_env(port, work, **extra)
        return Server(kind, args + ["--port", str(port)], env, str(work), port)

    async def webhooks(self) -> None:
        """Sections 1 and 2, and the start of `run.py serve` with its idle memory.

        The servers run side by side (started one after the other, so their start times do not mix), and
        each measure is taken on bare, floor and Lifeline back to back: a change in the machine's load
        between minutes moves all three alike, and the ratios hold."""
        async with contextlib.AsyncExitStack() as stack:
            servers = {}
            for kind in ("bare", "floor", "lifeline", "floor thread"):
                servers[kind] = await stack.enter_async_context(self.server(kind))
            await asyncio.sleep(1.0)
            for kind, server in servers.items():
                start = {"server": kind, "start_seconds": server.start_seconds}
                self.result["start"].append({**start, "idle_rss_mb": memory_mb(server.pid)["rss_mb"]})
            kinds = ("bare", "floor", "lifeline")
            passes = self.args.passes
            for scenario, _ in SCENARIOS:
                for sessions in SESSIONS:
                    # Bare, floor, Lifeline, then Lifeline, floor, bare...: a drift in the machine's load
                    # during the measure weighs on the three alike.
                    stretches = {kind: [] for kind in kinds}
                    for n in range(passes):
                        for kind in kinds if n % 2 == 0 else kinds[::-1]:
                            stretches[kind].append(
                                await self.stretch(
                                    servers[kind],
                                    scenario,
                                    sessions,
                                    0,
                                    self.args.clients,
                                    self.args.seconds / passes,
                                    None if n == 0 else 0.3,
                                )
                            )
                    for kind in kinds:
                        measured = self.figures(
                            servers[kind], scenario, sessions, 0, self.args.clients, stretches[kind]
                        )
                        self.result["webhooks"].append(measured)
                        self.progress(f"{kind} {scenario} @{sessions}: {measured['req_per_s']:,.0f} req/s")
                    if (scenario, sessions) == ("ussd-first", 16):
                        self.result["floor_thread"] = await self.load(servers["floor thread"], scenario, sessions)
                        # More client processes than the default must not raise the bare figure; one is
                        # shown too.
                        self.result["client_check"] = [
                            await self.load(servers["bare"], scenario, sessions, clients=clients)
                            for clients in sorted({1, self.args.clients, 2 * self.args.clients})
                        ]
            seconds = 300.0 if self.args.long else self.args.open_seconds
            for kind in ("floor", "lifeline"):
                measured = await self.load(servers[kind], "ussd-first", rate=self.args.rate, seconds=seconds)
                self.result["open_loop"].append(measured)
                self.progress(f"{kind} open loop: p99 {measured['p99_ms']:.1f} ms")

    @staticmethod
    def progress(line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    # -- alerts ----------------------------------------------------------------------------------

    async def alerts(self) -> None:
        """ALERTA by SMS (Africa's Talking webhook) → the relays at the fake carrier (Twilio API)."""
        fake = FakeCarrier()
        await fake.start(free_port())
        port = free_port()
        work = self.tmp / "alerts"
        work.mkdir()
        env = self.lifeline_env(
            port,
            work,
            SMS_PROVIDERS="twilio",
            TWILIO_ACCOUNT_SID=fake.twilio_sid,
            TWILIO_AUTH_TOKEN=fake.twilio_token,
            TWILIO_FROM="+15555550100",
            TWILIO_API_URL=fake.url,
        )
        args = [self.target_python, str(self.target / "run.py"), "serve", "--port", str(port)]
        posted: dict[str, float] = {}  # the sender's number → when its ALERTA was posted
        relays: dict[str, list[float]] = {}  # the sender's number → when each relay naming it arrived
        seen = 0

        def collect() -> None:
            nonlocal seen
            taken = fake.taken[seen:]
            seen += len(taken)
            for message in taken:
                # A relay names the person by their number: that, not the order, ties it to its alert.
                for number in NUMBER.findall(message.body):
                    if number in posted and message.to != number:
                        relays.setdefault(number, []).append(message.taken_at)
                        break

        async def alert(session: aiohttp.ClientSession, number: str) -> None:
            form = {
                "from": number,
                "to": "12345",
                "text": "ALERTA",
                "date": "2026-11-23",
                "id": f"bench-{number}",
                "linkId": "x",
                "networkCode": "63902",
            }
            posted[number] = time.time()  # the fake stamps arrivals with time.time() too
            async with session.post(f"http://127.0.0.1:{port}/africastalking/sms", data=form) as response:
                if response.status != 200:
                    raise RuntimeError(f"ALERTA answered {response.status}: {await response.text()}")

        async def relayed(numbers: list[str], count: int, timeout: float) -> None:
            async with asyncio.timeout(timeout):
                while True:
                    collect()
                    if all(len(relays.get(n, ())) >= count for n in numbers):
                        return
                    await asyncio.sleep(0.001)

        try:
            server = Server("lifeline alerts", args, env, str(work), port)
            async with server, aiohttp.ClientSession() as session:
                self.result["start"].append(
                    {
                        "server": "lifeline (again)",
                        "start_seconds": server.start_seconds,
                        "idle_rss_mb": memory_mb(server.pid)["rss_mb"],
                    }
                )
                # Warm-up, and how many relays one alert makes: those that come within a second.
                warm = ["+17135559990", "+17135559991"]
                for number in warm:
                    await alert(session, number)
                    await relayed([number], 1, 30)
                await asyncio.sleep(1.0)
                collect()
                expected = len(relays[warm[-1]])
                alone = [f"+1713555{n:04d}" for n in range(self.args.alone)]
                for number in alone:
                    await alert(session, number)
                    await relayed([number], expected, 30)
                burst = [f"+1713555{1000 + n:04d}" for n in range(self.args.burst)]
                queue = iter(burst)

                async def worker() -> None:
                    for number in queue:
                        await alert(session, number)

                await asyncio.gather(*(worker() for _ in range(4)))
                await relayed(burst, expected, 120)
                peak = memory_mb(server.pid)["peak_rss_mb"]
        finally:
            await fake.stop()

        def figures(numbers: list[str], concurrency: int) -> dict:
            first = sorted((min(relays[n]) - posted[n]) * 1000 for n in numbers)
            last = sorted((sorted(relays[n])[expected - 1] - posted[n]) * 1000 for n in numbers)
            return {
                "alerts": len(numbers),
                "at_once": concurrency,
                "relays_per_alert": expected,
                "first_p50_ms": percentile(first, 50),
                "first_p99_ms": percentile(first, 99),
                "first_max_ms": first[-1],
                "last_p50_ms": percentile(last, 50),
                "last_p99_ms": percentile(last, 99),
                "last_max_ms": last[-1],
                "peak_rss_mb": peak,
            }

        self.result["alerts"] = {"alone": figures(alone, 1), "burst": figures(burst, 4)}

    # -- outbox, extras --------------------------------------------------------------------------

    async def outbox_and_claims(self) -> None:
        """bench/dispatch.py with the target's Python and store, the fake carrier in its own process."""
        port = free_port()
        carrier = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_carrier", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **NO_PROXY},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            command = [
                self.target_python,
                str(ROOT / "bench" / "dispatch.py"),
                "--root",
                str(self.target),
                "--carrier-url",
                f"http://127.0.0.1:{port}",
                "--messages",
                str(self.args.messages),
            ]
            process = await asyncio.create_subprocess_exec(
                *command, cwd=self.tmp, env={**os.environ, **NO_PROXY}, stdout=subprocess.PIPE
            )
            output, _ = await process.communicate()
            if process.returncode:
                raise RuntimeError("bench/dispatch.py failed")
            self.result.update(json.loads(output))
        finally:
            carrier.terminate()
            carrier.wait()

    # -- scale-out on PostgreSQL ------------------------------------------------------------------

    async def scale_out(self) -> None:
        """Section 7: USSD first hops @16 on one `run.py serve` on PostgreSQL, and on two sharing a database.

        Each configuration gets a database of its own, created here and dropped at the end: neither starts
        on the other's rows. They run side by side, measured in alternating order (one, two, then two,
        one), so a drift in the machine's load weighs on both alike; each one's second stretch starts on
        its first's rows, alike too. The load processes are split evenly between the processes."""
        url = os.environ.get("BENCH_POSTGRES_URL", POSTGRES_URL)
        admin, reason = postgres_admin(url)
        if admin is None:
            self.result["scale_out"] = {"skipped": reason}
            self.progress(f"scale-out on PostgreSQL skipped: {reason}")
            return
        names = {n: f"lifeline_bench_{os.getpid()}_{n}" for n in (1, 2)}
        created: list[str] = []
        try:
            with admin.cursor() as cursor:
                for name in names.values():
                    cursor.execute(f'CREATE DATABASE "{name}"')
                    created.append(name)
            async with contextlib.AsyncExitStack() as stack:
                servers: dict[int, list[Server]] = {}
                for n, name in names.items():
                    database_url = urlsplit(url)._replace(path=f"/{name}").geturl()
                    servers[n] = []
                    for i in range(n):  # one after the other: the first creates the schema
                        server = self.server(f"lifeline pg {n}.{i}", DATABASE_URL=database_url)
                        servers[n].append(await stack.enter_async_context(server))
                clients = {n: -(-self.args.clients // n) * n for n in names}  # a multiple of the processes
                stretches: dict[int, list[dict]] = {n: [] for n in names}
                for p in range(2):
                    for n in (1, 2) if p % 2 == 0 else (2, 1):
                        stretches[n].append(
                            await self.stretch(
                                servers[n], "ussd-first", 16, 0, clients[n], self.args.seconds, database=names[n]
                            )
                        )
                measures = []
                for n in names:
                    m = self.figures(servers[n][0], "ussd-first", 16, 0, clients[n], stretches[n])
                    postgres = [taken["postgres_cpu"] for taken in stretches[n]]
                    m.update(
                        server=f"lifeline x{n} postgresql",
                        processes=n,
                        # None: no PostgreSQL process visible from here (another host, a container).
                        postgres_cpu_us_per_req=(
                            sum(postgres) / m["requests"] * 1e6 if m["requests"] and None not in postgres else None
                        ),
                        peak_rss_mb=max(memory_mb(s.pid)["peak_rss_mb"] for s in servers[n]),
                    )
                    m["cpu_x_one"] = m["cpu_us_per_req"] / (measures or [m])[0]["cpu_us_per_req"]
                    measures.append(m)
                    self.progress(f"postgresql x{n}: {m['req_per_s']:,.0f} req/s, {m['cpu_us_per_req']:.0f} us/req")
            self.result["scale_out"] = {"postgres_version": admin.server_version, "measures": measures}
        except Exception as exc:  # the other sections' figures, taken by now, are still printed
            self.result["scale_out"] = {"failed": f"{type(exc).__name__}: {exc}".strip()[-600:]}
            self.progress(f"scale-out on PostgreSQL failed: {exc}")
        finally:
            # After the servers stopped (their connections closed); FORCE ends any a crash left (PostgreSQL 13+).
            force = " WITH (FORCE)" if admin.server_version >= 130000 else ""
            with admin.cursor() as cursor:
                for name in created:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
            admin.close()

    def extras(self) -> list[str]:
        """bench/places.py and bench/console.py of the tree under test, their printed tables kept as text."""
        printed = []
        for script in ("places.py", "console.py"):
            path = self.target / "bench" / script
            if not path.exists():
                continue
            done = subprocess.run(
                [self.target_python, str(path)],
                cwd=self.target,
                capture_output=True,
                text=True,
                env={**os.environ, **NO_PROXY},
                timeout=240,
            )
            printed.append(done.stdout.rstrip() or done.stderr.rstrip()[-500:])
            key = script.removesuffix(".py")
            self.result[key] = {"printed": printed[-1]}
            if key == "console" and (self.target / "bench" / "console.json").exists():
                self.result[key]["pages"] = json.loads((self.target / "bench" / "console.json").read_text())
        return printed


NUMBER = re.compile(r"\+\d{8,15}")


# -- the table ---------------------------------------------------------------------------------------


def table(headers: tuple[str, ...], rows: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                (str(c).rjust(w) if i else str(c).ljust(w)) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)


def add_ratios(result: dict) -> None:
    """Each webhook measure against the two baselines of the same scenario and sessions."""
    by = {(m["server"], m["scenario"], m["sessions"]): m for m in result["webhooks"]}
    for m in result["webhooks"]:
        bare, floor = by[("bare", m["scenario"], m["sessions"])], by[("floor", m["scenario"], m["sessions"])]
        m["x_bare"] = m["req_per_s"] / bare["req_per_s"]
        m["x_floor"] = m["req_per_s"] / floor["req_per_s"]
        m["cpu_x_floor"] = m["cpu_us_per_req"] / floor["cpu_us_per_req"]


def plain(value):
    """JSON has no NaN (a measure that answered nothing): null instead."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def headline(result: dict) -> str:
    machine = result["machine"]
    return (
        f"make bench: {machine['target']} at {machine['commit']}, {machine['cpus']} CPUs, load average "
        f"{machine['load_before']} before and {machine['load_after']} after, Python {machine['python']}, "
        f"{machine['clients']} load processes a measure, {result['total_seconds']:.0f} s"
    )


def scale_out_report(result: dict) -> list[str]:
    """Section 7; nothing when it was not run."""
    scale = result.get("scale_out")
    if scale is None:
        return []
    if "skipped" in scale:
        return [f"\n7. Scale-out on PostgreSQL: skipped, {scale['skipped']}"]
    if "failed" in scale:
        return [f"\n7. Scale-out on PostgreSQL: FAILED, {scale['failed']}"]
    out = ["\n7. Scale-out on PostgreSQL: USSD first hop @16, one `serve` process, then two on one database"]
    out.append(
        table(
            (
                "serve",
                "req/s",
                "p50 ms",
                "p99 ms",
                "serve CPU us/req",
                "busy",
                "PostgreSQL CPU us/req",
                "CPU x 1 process",
                "errors",
            ),
            [
                (
                    f"{m['processes']} process{'es' if m['processes'] > 1 else ''}",
                    f"{m['req_per_s']:,.0f}",
                    f"{m['p50_ms']:.1f}",
                    f"{m['p99_ms']:.1f}",
                    f"{m['cpu_us_per_req']:.0f}",
                    f"{m['server_cpu_share']:.0%}",
                    "n/a" if m["postgres_cpu_us_per_req"] is None else f"{m['postgres_cpu_us_per_req']:.0f}",
                    f"{m['cpu_x_one']:.2f}x",
                    str(m["errors"]) if m["errors"] else "",
                )
                for m in scale["measures"]
            ],
        )
    )
    out.append("   serve CPU: the serve processes' summed (busy: 100% = one core); PostgreSQL CPU: the postmaster, its")
    out.append("   background processes and this database's backends; CPU x 1 process: the target is within 1.10x")
    return out


def report(result: dict) -> str:
    out = [headline(result)]
    by = {(m["server"], m["scenario"], m["sessions"]): m for m in result["webhooks"]}
    rows = []
    for scenario, title in SCENARIOS:
        for sessions in SESSIONS:
            for kind in ("bare", "floor", "lifeline"):
                m = by[(kind, scenario, sessions)]
                rows.append(
                    (
                        f"{title} @{sessions}" if kind == "bare" else "",
                        kind,
                        f"{m['req_per_s']:,.0f}",
                        f"{m['p50_ms']:.1f}",
                        f"{m['p99_ms']:.1f}",
                        f"{m['max_ms']:.0f}",
                        f"{m['cpu_us_per_req']:.0f}",
                        f"{m['server_cpu_share']:.0%}",
                        f"{m['peak_rss_mb']:.0f}",
                        f"{m['x_bare']:.2f}x",
                        f"{m['x_floor']:.2f}x",
                        f"{m['cpu_x_floor']:.2f}x",
                        str(m["errors"]) if m["errors"] else "",
                    )
                )
    out.append("\n1. Webhooks, closed loop (each session sends its next request when answered)")
    out.append(
        table(
            (
                "measure",
                "server",
                "req/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "CPU us/req",
                "busy",
                "peak MB",
                "x bare",
                "x floor",
                "CPU x floor",
                "errors",
            ),
            rows,
        )
    )
    thread = result["floor_thread"]
    floor = by[("floor", "ussd-first", 16)]
    out.append(
        f"   the floor with one thread hop per transaction (USSD first hop @16): {thread['req_per_s']:,.0f} req/s, "
        f"{thread['cpu_us_per_req']:.0f} us/req ({thread['req_per_s'] / floor['req_per_s']:.2f}x the inline floor)"
    )
    checks = result["client_check"]
    default = next(c for c in checks if c["clients"] == result["machine"]["clients"])
    most = checks[-1]
    # Within 5% is noise on a shared machine, not a rise. A server far from a full core was held back by the
    # machine's other work, and more client processes take more of the machine's time slices: a rise
    # then says nothing about the clients' capacity.
    if most["req_per_s"] <= 1.05 * default["req_per_s"]:
        verdict = "ok, the clients are not the limit"
    elif default["server_cpu_share"] < 0.8:
        verdict = (
            f"inconclusive: the server was {default['server_cpu_share']:.0%} busy, the machine's other "
            "work set the pace (read CPU us/req; rerun on a quiet machine)"
        )
    else:
        verdict = "ROSE: the load clients limit the figures"
    figures = ", ".join(
        f"{c['clients']} client{'s' if c['clients'] > 1 else ''} {c['req_per_s']:,.0f} req/s "
        f"(server busy {c['server_cpu_share']:.0%}, each client {c['client_cpu_share']:.0%})"
        for c in checks
    )
    out.append(f"   client check, bare USSD first hop @16: {figures}: {verdict}")
    out.append("   busy: the server's CPU time over the measured seconds (100% = one core all the time)")
    out.append("\n2. Open loop: USSD first hops arriving at a fixed rate")
    out.append(
        table(
            ("server", "rate/s", "done/s", "p50 ms", "p99 ms", "longest ms", "CPU us/req", "busy", "errors"),
            [
                (
                    m["server"],
                    f"{m['rate']:,.0f}",
                    f"{m['req_per_s']:,.0f}",
                    f"{m['p50_ms']:.1f}",
                    f"{m['p99_ms']:.1f}",
                    f"{m['max_ms']:.0f}",
                    f"{m['cpu_us_per_req']:.0f}",
                    f"{m['server_cpu_share']:.0%}",
                    str(m["errors"]) if m["errors"] else "",
                )
                for m in result["open_loop"]
            ],
        )
    )
    out.append("\n3. ALERTA webhook -> relays at the carrier (matched by the number each relay names)")
    out.append(
        table(
            (
                "alerts",
                "relays each",
                "first p50 ms",
                "first p99 ms",
                "first max",
                "last p50 ms",
                "last p99 ms",
                "last max",
            ),
            [
                (
                    f"{a['alerts']}, {a['at_once']} at a time",
                    a["relays_per_alert"],
                    f"{a['first_p50_ms']:.1f}",
                    f"{a['first_p99_ms']:.1f}",
                    f"{a['first_max_ms']:.0f}",
                    f"{a['last_p50_ms']:.1f}",
                    f"{a['last_p99_ms']:.1f}",
                    f"{a['last_max_ms']:.0f}",
                )
                for a in result["alerts"].values()
            ],
        )
    )
    out.append("\n4. Outbox: the dispatcher (SQLite outbox) against a null dispatcher (same sends, no database;")
    out.append("   its figure is the mean of a run before and one after the dispatcher's)")
    out.append(
        table(
            ("sender", "messages", "in flight", "null msg/s", "outbox msg/s", "x null"),
            [
                (
                    o["sender"],
                    o["messages"],
                    o.get("concurrency", ""),
                    f"{o['null_per_s']:,.0f}",
                    f"{o['outbox_per_s']:,.0f}",
                    f"{o['outbox_per_s'] / o['null_per_s']:.2f}x",
                )
                for o in result["outbox"]
            ],
        )
    )
    base = result["claims"][0]["ms_per_claim"]
    out.append(
        table(
            ("pending", "ms per claim of 16", "x at 100"),
            [
                (f"{c['pending']:,}", f"{c['ms_per_claim']:.2f}", f"{c['ms_per_claim'] / base:.2f}x")
                for c in result["claims"]
            ],
        )
    )
    out.append("\n5. Start (spawn to the first 200 from /healthz) and idle memory")
    out.append(
        table(
            ("server", "start s", "idle RSS MB"),
            [(s["server"], f"{s['start_seconds']:.2f}", f"{s['idle_rss_mb']:.0f}") for s in result["start"]],
        )
    )
    for key in ("places", "console"):
        if key in result:
            out.append(f"\n6. bench/{key}.py\n{result[key]['printed']}")
    out.extend(scale_out_report(result))
    return "\n".join(out)


def compile_bytecode(python: str, checkout: Path) -> None:
    """The checkout's modules compiled, as a service that has run once has them: with PYTHONDONTWRITEBYTECODE
    set (as on some machines) each start would compile whatever changed since, and time that."""
    sources = [str(checkout / name) for name in ("gateway", "handlers", "store", "run.py")]
    subprocess.run([python, "-m", "compileall", "-q", *sources], check=True, stdout=subprocess.DEVNULL)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="default bench/results/latest.json, or <section>.json with --only")
    parser.add_argument("--target", type=Path, help="another Lifeline checkout to measure (with its .venv)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per closed-loop row")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each measure")
    parser.add_argument("--clients", type=int, default=2, help="load processes per closed-loop measure")
    parser.add_argument(
        "--passes", type=int, default=2, help="webhook measures in this many stretches, in alternating order"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="open loop: first hops per second")
    parser.add_argument("--open-seconds", type=float, default=10.0)
    parser.add_argument("--long", action="store_true", help="the open loop for 5 minutes")
    parser.add_argument("--alone", type=int, default=20, help="alerts sent one at a time")
    parser.add_argument("--burst", type=int, default=200, help="alerts sent 4 at a time")
    parser.add_argument("--messages", type=int, default=2000, help="outbox messages per sender")
    parser.add_argument("--no-extras", action="store_true", help="skip bench/places.py and bench/console.py")
    parser.add_argument("--only", choices=("scale-out",), help="run this section alone")
    args = parser.parse_args()
    # A section run alone does not overwrite the whole bench's figures.
    args.json = args.json or ROOT / "bench" / "results" / f"{args.only or 'latest'}.json"
    bench = Bench(args)
    if args.target and not Path(bench.target_python).exists():
        parser.error(f"{bench.target_python} is missing: run `make .venv/.installed` in {bench.target}")
    commit = subprocess.run(
        ["git", "-C", str(bench.target), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    bench.result["machine"] = {
        "target": str(bench.target),
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "clients": args.clients,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    compile_bytecode(bench.target_python, bench.target)
    began = time.perf_counter()
    if not args.only:
        await bench.webhooks()
        await bench.alerts()
        await bench.outbox_and_claims()
    await bench.scale_out()
    if not args.only and not args.no_extras:
        bench.extras()
    bench.result["machine"]["load_after"] = round(os.getloadavg()[0], 2)
    bench.result["total_seconds"] = time.perf_counter() - began
    if args.only:
        printed = "\n".join([headline(bench.result), *scale_out_report(bench.result)])
    else:
        add_ratios(bench.result)
        printed = report(bench.result)
    print(printed)
    shutil.rmtree(bench.tmp, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(plain(bench.result), indent=2) + "\n")
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
