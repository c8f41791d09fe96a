"""A real `serve` process killed with SIGKILL between accepting and sending: after a restart every
accepted message reaches the carrier exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections import Counter

import aiohttp
import pytest

from tests import payloads
from tests.conftest import ROOT, set_outbox_policy

PEOPLE = [f"+1555555{n:04d}" for n in range(100, 112)]  # fictional +1 555-555-01xx numbers
TOKEN = "callback-token-for-the-restart-test"  # `serve` refuses a real account's callbacks without one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_env(database_url: str, config_dir, tmp_path, **settings: str) -> dict:
    """The environment an operator starts `serve` with (its key in a file beside the test), plus settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NO_PROXY": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "LIFELINE_CONFIG": str(config_dir),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "LIFELINE_KEY_FILE": str(tmp_path / "lifeline.key"),
        **settings,
    }


class Server:
    """`python run.py serve` as an operator starts it."""

    def __init__(self, env: dict, cwd):
        self.env = env
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.log = cwd / f"serve-{self.port}.log"  # what an operator reads on the terminal

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:  # the process keeps its own handle
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "run.py"),
                "serve",
                "--port",
                str(self.port),
                cwd=self.cwd,
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        async with asyncio.timeout(30):
            while True:
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


@pytest.mark.parametrize("carrier_state", ["refusing", "hanging"])
async def test_sigkill_between_accepting_and_sending_loses_nothing_and_sends_once(
    fake, database_url, config_dir, tmp_path, carrier_state
):
    # Retries slow enough that the first process cannot use up a message's attempts before it dies.
    set_outbox_policy(config_dir, max_attempts=8, backoff_base_seconds=1, backoff_max_seconds=2)
    env = serve_env(
        database_url,
        config_dir,
        tmp_path,
        SMS_PROVIDERS="africastalking",
        AT_USERNAME=fake.at_username,
        AT_API_KEY=fake.at_api_key,
        AT_API_URL=fake.url,
        AT_CALLBACK_TOKEN=TOKEN,
    )
    if carrier_state == "refusing":
        await fake.refuse()
    else:
        fake.script("africastalking", *["hang"] * len(PEOPLE))

    async with aiohttp.ClientSession() as session:
        first = Server(env, tmp_path)
        await first.start(session)
        try:
            for phone in PEOPLE:
                async with session.post(
                    first.url + f"/africastalking/sms?token={TOKEN}", data=payloads.at_sms(phone, "hola")
                ) as r:
                    assert r.status == 200
        finally:
            await first.kill()

        if carrier_state == "refusing":
            await fake.accept()
        second = Server(env, tmp_path)
        await second.start(session)
        try:
            await fake.wait_for(len(PEOPLE), timeout=30)
            # Let leases of the killed process expire and any duplicate show up before counting.
            async with asyncio.timeout(30):
                while True:
                    async with session.get(second.url + "/healthz") as response:
                        health = await response.json()
                    if health["outbox"]["waiting"] == 0:
                        break
                    await asyncio.sleep(0.1)
        finally:
            await second.stop()

    delivered = Counter(message.to for message in fake.accepted)
    assert delivered == Counter(PEOPLE)  # every accepted SMS reached the carrier, each exactly once


async def test_serve_runs_on_uvloop_and_leaves_start_up_out_of_garbage_collection(database_url, config_dir, tmp_path):
    env = serve_env(database_url, config_dir, tmp_path, SMS_PROVIDERS="console")
    async with aiohttp.ClientSession() as session:
        server = Server(env, tmp_path)
        await server.start(session)
        try:
            async with session.get(server.url + "/metrics") as response:
                metrics = await response.text()
        finally:
            await server.stop()
    frozen = re.search(r"^lifeline_heap_frozen_objects (\S+)$", metrics, re.MULTILINE)
    # The menus, the texts and the places index: a full collection would walk them all again and again,
    # pausing every webhook in flight (about 240 ms, every half minute under traffic).
    assert frozen is not None and float(frozen.group(1)) > 100_000
    # uvloop is one of serve's dependencies: the C event loop, each webhook costing the loop less.
    assert "event loop: uvloop" in server.log.read_text()


async def test_a_surge_of_connections_at_once_is_all_answered_and_held_by_a_deep_listen_queue(
    database_url, config_dir, tmp_path
):
    """A crisis brings many connections at once: the kernel must hold them until serve accepts them (a full
    queue drops a handshake's last packet, and that carrier's request waits a second or more)."""
    import shutil
    import subprocess
    from urllib.parse import urlencode

    env = serve_env(database_url, config_dir, tmp_path, SMS_PROVIDERS="console", AT_USERNAME="sandbox")

    async def dial(n: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        body = urlencode(payloads.at_ussd(f"+1555555{n:04d}", "", session=f"surge-{n}"))
        writer.write(
            f"POST /africastalking/ussd HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode()
        )
        answer = await reader.read()
        writer.close()
        return answer

    async with aiohttp.ClientSession() as session:
        server = Server(env, tmp_path)
        await server.start(session)
        try:
            if shutil.which("ss"):  # the listening socket's queue length, as the kernel reports it
                listed = subprocess.run(["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True)
                queue = int(listed.stdout.split()[2])
                with open("/proc/sys/net/core/somaxconn") as limit:
                    assert queue == min(1024, int(limit.read()))
            answers = await asyncio.gather(*(dial(n) for n in range(400)))
        finally:
            await server.stop()
    assert all(answer.startswith(b"HTTP/1.1 200") and b"CON Lifeline" in answer for answer in answers)


async def test_the_access_log_names_each_webhook_without_its_token(database_url, config_dir, tmp_path):
    env = serve_env(
        database_url,
        config_dir,
        tmp_path,
        SMS_PROVIDERS="console",
        AT_USERNAME="sandbox",
        AT_CALLBACK_TOKEN=TOKEN,
    )
    line = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO aiohttp\.access: POST /africastalking/sms 200 ", re.M
    )
    async with aiohttp.ClientSession() as session:
        server = Server(env, tmp_path)
        await server.start(session)
        try:
            async with session.post(
                server.url + f"/africastalking/sms?token={TOKEN}", data=payloads.at_sms(PEOPLE[0], "hola")
            ) as r:
                assert r.status == 200
            # Written in batches, yet on the terminal within the second while the service runs.
            async with asyncio.timeout(5):
                while not line.search(server.log.read_text()):
                    await asyncio.sleep(0.05)
            async with session.post(
                server.url + f"/africastalking/sms?token={TOKEN}", data=payloads.at_sms(PEOPLE[1], "hola")
            ) as r:
                assert r.status == 200
        finally:
            await server.stop()
    written = server.log.read_text()
    assert len(line.findall(written)) == 2  # the last one too, written as the service stopped
    assert TOKEN not in written
