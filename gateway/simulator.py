"""A terminal phone: dials the USSD menu or sends SMS through the real Africa's Talking webhooks,
and shows what the phone would show, including the SMS the outbox wrote for it and for others.

It speaks HTTP to a running server (--url) or to one it starts in this process, so what it shows is
what a carrier would get. The form fields are Africa's Talking's own:
https://developers.africastalking.com/docs/ussd/overview and /docs/sms/notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import peewee
from aiohttp import web

from gateway import keys
from gateway.app import create_app
from gateway.keyfile import unlock
from gateway.phones import mask
from gateway.settings import Settings
from store import outbox
from store.db import DatabaseUnavailable, Store, is_open_at, open_database

ReadLine = Callable[[], Awaitable[str | None]]
Write = Callable[[str], None]

MODES = ("ussd", "sms")
SERVICE_CODE = "*384*123#"
SHORT_CODE = "12345"  # the number the simulated phone texts
NETWORK_CODE = "63902"  # Safaricom Kenya, as in Africa's Talking's examples
USSD_PATH = "/africastalking/ussd"
SMS_PATH = "/africastalking/sms"
QUIT = "/quit"
ENDED = "[session ended]"
PROMPT = "> "
USSD_HINT = f"Typed lines are answers; after {ENDED} any line dials again; {SERVICE_CODE[:-1]}*1# dials with options."

# The service code with options, as typed to skip menus in one dial: *384*123*1# → text "1".
_SHORTCUT = re.compile(re.escape(SERVICE_CODE[:-1]) + r"(?:\*([0-9*]*))?#")

# Carriers give up on a USSD hop after a few seconds; a slower answer is a failure to show.
REQUEST_TIMEOUT_SECONDS = 10
# Replies are committed before the webhook answers, so the first look usually finds them.
OUTBOX_WAIT_SECONDS = 3.0
OUTBOX_POLL_SECONDS = 0.05


class SimulatorError(RuntimeError):
    """The simulator cannot start; the message says why, in one line."""


class _NoAnswer(Exception):
    """The server did not answer 200; the message is the line to show."""


@dataclass
class _UssdSession:
    session_id: str
    inputs: list[str] = field(default_factory=list)
    ended: bool = False


@dataclass(frozen=True)
class _Server:
    """The webhooks of one server, called as Africa's Talking calls them."""

    http: aiohttp.ClientSession
    url: str
    token: str | None

    async def post(self, path: str, form: dict[str, str]) -> str:
        """The body of a 200 answer; _NoAnswer for anything else."""
        params = {"token": self.token} if self.token else None
        try:
            async with self.http.post(self.url + path, data=form, params=params) as response:
                body = await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _NoAnswer(f"no answer from {self.url}: {type(exc).__name__}") from None
        if response.status != 200:
            first = body.strip().splitlines()[0] if body.strip() else ""
            raise _NoAnswer(f"HTTP {response.status}: {first}" if first else f"HTTP {response.status}")
        return body


async def simulate(
    mode: str, phone: str, url: str | None, settings: Settings, read_line: ReadLine, write: Write
) -> None:
    """Runs one simulated phone (mode "ussd" or "sms") until /quit or the end of input."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    async with contextlib.AsyncExitStack() as stack:
        app = None
        if url is None:
            app, url = await stack.enter_async_context(_in_process(settings))
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))
        )
        server = _Server(http, url.rstrip("/"), settings.at_callback_token)
        where = IN_PROCESS if app is not None else server.url
        write(f"Lifeline {mode.upper()} simulator: {phone} on {where}. {QUIT} or end of input stops.")
        if mode == "ussd":
            write(USSD_HINT)
            try:
                store = app[keys.STORE] if app else await stack.enter_async_context(_server_store(settings))
                seen = await _latest_outbox_id(store)
            except SimulatorError as exc:
                # A remote server's screens still work; only the SMS its hops send cannot be shown.
                write(f"[SMS sent by the server are not shown: {exc}]")
                store, seen = None, 0
            await _ussd(server, phone, store, seen, read_line, write)
        else:
            store = app[keys.STORE] if app else await stack.enter_async_context(_server_store(settings))
            await _sms(server, phone, store, read_line, write)


@contextlib.asynccontextmanager
async def _in_process(settings: Settings):
    """The service started here on a free loopback port: (app, base URL)."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield app, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _server_store(settings: Settings):
    """The running server's database, read with its key, to show the SMS its outbox wrote."""
    if settings.secret_key is None and not settings.key_file.exists():
        # load_secret would create a new key here, one that cannot read the server's rows.
        raise SimulatorError(
            f"LIFELINE_SECRET_KEY is not set and {settings.key_file} does not exist: run where the server runs"
        )
    shared = is_open_at(settings.database_url)  # a server in this same process (tests) opened it: share it
    if not shared:
        open_database(settings.database_url)
    store = Store()
    try:
        if not shared:
            await store.run(unlock, settings, True)  # the server's key, or a refusal naming the variable
        yield store
    finally:
        await asyncio.to_thread(store.close)  # waits for a running query


async def _ussd(server: _Server, phone: str, store: Store | None, seen: int, read_line: ReadLine, write: Write) -> None:
    session = await _dial(server, phone, [], write)
    while (line := await read_line()) is not None and line.strip() != QUIT:
        options = _shortcut(line)
        if options is not None or session.ended:
            session = await _dial(server, phone, options or [], write)
        else:
            session.inputs.append(line.strip())
            await _hop(server, phone, session, write)
        # A hop may send SMS (a contact's notice, an alert's relays): written before the screen came back.
        for row in await store.run(outbox.written_after, seen) if store else []:
            write(describe_sms(row.to, row.body, row.encoding, row.segments, phone))
            seen = row.id


def _shortcut(line: str) -> list[str] | None:
    """The options of a typed service code (*384*123*1*2# → ["1", "2"]); None if the line is not one."""
    match = _SHORTCUT.fullmatch(line.strip())
    if match is None:
        return None
    return match.group(1).split("*") if match.group(1) else []


async def _dial(server: _Server, phone: str, options: list[str], write: Write) -> _UssdSession:
    """A new session, as the carrier opens one: a fresh sessionId, the options as the first hop's text."""
    session = _UssdSession(f"ATUid_{uuid.uuid4().hex}", list(options))
    write(f"[dial {SERVICE_CODE[:-1]}{''.join('*' + o for o in options)}#]")
    await _hop(server, phone, session, write)
    return session


async def _hop(server: _Server, phone: str, session: _UssdSession, write: Write) -> None:
    """Sends every input so far and shows the screen that comes back."""
    form = {
        "sessionId": session.session_id,
        "serviceCode": SERVICE_CODE,
        "phoneNumber": phone,
        "networkCode": NETWORK_CODE,
        "text": "*".join(session.inputs),
    }
    try:
        body = await server.post(USSD_PATH, form)
    except _NoAnswer as exc:
        write(f"[{exc}]")
        write(ENDED)  # the carrier drops the session when the service fails to answer
        session.ended = True
        return
    session.ended, screen = _screen(body)
    write(screen)
    if session.ended:
        write(ENDED)


def _screen(body: str) -> tuple[bool, str]:
    """(session ends, text shown) for a 'CON ...' or 'END ...' answer; anything else ends it."""
    head, _, rest = body.partition(" ")
    if head in ("CON", "END"):
        return head == "END", rest
    return True, body


async def _sms(server: _Server, phone: str, store: Store, read_line: ReadLine, write: Write) -> None:
    seen = await _latest_outbox_id(store)
    while (line := await read_line()) is not None and line.strip() != QUIT:
        if not line.strip():
            continue
        try:
            await server.post(SMS_PATH, _inbound_sms(phone, line))
        except _NoAnswer as exc:
            write(f"[{exc}]")
            continue
        rows = await _new_outbox_rows(store, seen)
        if not rows:
            write(f"[no SMS within {OUTBOX_WAIT_SECONDS:g} s]")
        for row in rows:
            write(describe_sms(row.to, row.body, row.encoding, row.segments, phone))
            seen = row.id


def _inbound_sms(phone: str, text: str) -> dict[str, str]:
    """The form Africa's Talking posts for an incoming SMS."""
    return {
        "from": phone,
        "to": SHORT_CODE,
        "text": text,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "id": f"sim-{uuid.uuid4().hex}",
        "linkId": f"sim-link-{uuid.uuid4().hex[:12]}",
        "networkCode": NETWORK_CODE,
    }


async def _latest_outbox_id(store: Store) -> int:
    try:
        return await store.run(outbox.latest_id)
    except (peewee.DatabaseError, DatabaseUnavailable) as exc:
        raise SimulatorError(f"cannot read the outbox in DATABASE_URL ({exc}): run where the server runs") from None


async def _new_outbox_rows(store: Store, after: int) -> list[outbox.Written]:
    """Outbox rows after id `after`, waiting a little for the first one to appear."""
    deadline = asyncio.get_running_loop().time() + OUTBOX_WAIT_SECONDS
    while not (rows := await store.run(outbox.written_after, after)) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(OUTBOX_POLL_SECONDS)
    return rows


# Without --url the simulator is its own server: say so, since a running `make serve` sees none of it live.
IN_PROCESS = "a server started inside this command on DATABASE_URL (--url http://127.0.0.1:8080: a running one)"


def describe_sms(to: str, body: str, encoding: str, segments: int, phone: str) -> str:
    """An outbox SMS as shown: "you" for the simulated phone, other numbers masked, then the text."""
    who = "you" if to == phone else mask(to)
    return f"SMS to {who} [{encoding}, {segments} segment{'s' if segments != 1 else ''}]:\n{body}"


async def main_loop(mode: str, phone: str, url: str | None, settings: Settings) -> None:
    """Runs the simulator on this terminal: typed lines in, the phone's screen out."""
    lines = _stdin_lines()
    echo = not sys.stdin.isatty()  # piped input is not echoed by a terminal: show it with its prompt

    async def read_line() -> str | None:
        print(PROMPT, end="", flush=True)
        line = await lines.get()
        if echo:
            print(line if line is not None else "")
        return line

    await simulate(mode, phone, url, settings, read_line, print)


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines typed on stdin (None at its end), read by a daemon thread.

    Not run_in_executor: a thread blocked in readline would keep Ctrl-C from ending the program.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading any more
            loop.call_soon_threadsafe(queue.put_nowait, line)

    def pump() -> None:
        for line in sys.stdin:
            put(line.rstrip("\r\n"))
        put(None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return queue
