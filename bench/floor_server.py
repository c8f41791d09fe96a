"""Baseline (b) of `make bench`, the stateful floor: the least a stateful hop must do. The same routes and
form parsing as Lifeline (and, for Twilio, the same X-Twilio-Signature check, written as Lifeline writes it), then
one transaction that loads the session row and saves it back, in a SQLite file in WAL mode through peewee
(Lifeline's store: the same pragmas, the same INSERT ... ON CONFLICT). No encryption, no menus.

By default the transaction runs inline on the event loop (microseconds long on SQLite); with --thread it
takes one hop to a single worker thread per transaction, as Lifeline's Store did when this was written.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import hmac
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import peewee
from aiohttp import web
from twilio.request_validator import add_port, remove_port

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PRAGMAS = {"journal_mode": "wal", "synchronous": "normal", "busy_timeout": 5000, "foreign_keys": 1}
SESSION_SECONDS = 180.0

LOAD = "SELECT state FROM session WHERE key = ? AND expires_at > ?"
SAVE = """INSERT INTO session (key, state, updated_at, expires_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
        expires_at = excluded.expires_at"""


class Floor:
    def __init__(self, path: str, thread: bool, public_url: str, twilio_token: str):
        self.db = peewee.SqliteDatabase(path, pragmas=PRAGMAS, check_same_thread=False)
        self.db.execute_sql(
            "CREATE TABLE IF NOT EXISTS session (key TEXT PRIMARY KEY, state TEXT NOT NULL, "
            "updated_at REAL NOT NULL, expires_at REAL NOT NULL)"
        )
        self.executor = ThreadPoolExecutor(max_workers=1) if thread else None
        self.public_url = public_url
        self.key = hmac.new(twilio_token.encode(), digestmod=hashlib.sha1)

    def signed(self, url: str, form, signature: str) -> bool:
        """Lifeline's check (gateway/carriers/twilio.py `signed`): the URL's two forms, each signature from a
        copy of the prepared key."""
        fields = "".join(name + value for name, value in sorted(set(form.items())))
        for form_of_url in _signed_forms(url):
            mac = self.key.copy()
            mac.update((form_of_url + fields).encode())
            if hmac.compare_digest(base64.b64encode(mac.digest()), signature.encode("utf-8", "replace")):
                return True
        return False

    def hop(self, key: str, text: str) -> int:
        """Loads the session and saves it one step further, in one transaction; returns the step."""
        now = time.time()
        with self.db.atomic():
            row = self.db.execute_sql(LOAD, (key, now)).fetchone()
            state = json.loads(row[0]) if row else {"screen": "main", "inputs": []}
            state["inputs"].append(text)
            self.db.execute_sql(SAVE, (key, json.dumps(state), now, now + SESSION_SECONDS))
        return len(state["inputs"])

    async def run(self, key: str, text: str) -> int:
        if self.executor is None:
            return self.hop(key, text)
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.hop, key, text)


@functools.lru_cache(maxsize=64)
def _signed_forms(url: str) -> tuple[str, ...]:
    parsed = urlparse(url)
    return tuple(dict.fromkeys((remove_port(parsed), add_port(parsed))))


FLOOR = web.AppKey("floor", Floor)


async def ussd(request: web.Request) -> web.Response:
    form = await request.post()
    if not form.get("sessionId") or not form.get("phoneNumber"):
        raise web.HTTPBadRequest()
    step = await request.app[FLOOR].run(form["sessionId"], form.get("text", ""))
    return web.Response(text=f"CON Lifeline {step}\n1 Help\n0 Exit", content_type="text/plain")


async def twilio_sms(request: web.Request) -> web.Response:
    floor = request.app[FLOOR]
    form = await request.post()
    signature = request.headers.get("X-Twilio-Signature")
    if not signature or not floor.signed(floor.public_url + request.path_qs, form, signature):
        raise web.HTTPForbidden()
    if not form.get("From") or not form.get("MessageSid"):
        raise web.HTTPBadRequest()
    await floor.run("sms:" + form["From"], form.get("Body", ""))
    return web.Response(text=EMPTY_TWIML, content_type="application/xml")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="the SQLite file")
    parser.add_argument("--thread", action="store_true", help="one hop to a worker thread per transaction")
    args = parser.parse_args()
    public_url = os.environ.get("PUBLIC_URL", f"http://127.0.0.1:{args.port}").rstrip("/")
    app = web.Application()
    app[FLOOR] = Floor(args.db, args.thread, public_url, os.environ["TWILIO_AUTH_TOKEN"])
    app.router.add_post("/africastalking/ussd", ussd)
    app.router.add_post("/twilio/sms", twilio_sms)
    app.router.add_get("/healthz", healthz)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)
