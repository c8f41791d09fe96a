"""aiohttp-session storage in Lifeline's own database: a session is a row, so ending it is a delete
(logout, a blocked account, a new password) and takes effect on the very next request."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from store import accounts
from store.db import Store

# The session's data key for the logged-in account's id.
ACCOUNT = "account"
COOKIE = "lifeline_console"


def key_hash(key: str) -> str:
    """The row holds a hash of the cookie's key: a copy of the table opens no session."""
    return hashlib.sha256(key.encode("ascii", "replace")).hexdigest()


class DatabaseStorage(AbstractStorage):
    def __init__(
        self,
        store_of: Callable[[], Store],
        clock: Callable[[], float] = time.time,
        idle_seconds: float = 30 * 60,
        secure: bool = False,
    ):
        """store_of() gives the store, which the service opens at start-up, after the routes are made."""
        # No max_age: the cookie lasts the browser session; the row's expiry is the idle timeout.
        super().__init__(cookie_name=COOKIE, httponly=True, samesite="Strict", secure=secure, path="/console/")
        self._store_of = store_of
        self._clock = clock
        self._idle = idle_seconds

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        if not key or len(key) > 128:
            return Session(None, data=None, new=True)
        stored = await self._store_of().run(accounts.load_session, key_hash(key), self._clock())
        if stored is None:  # unknown, expired, ended, or its account blocked
            return Session(None, data=None, new=True)
        try:
            data = json.loads(stored.data)
        except ValueError:
            data = {}
        return Session(key, data={"created": int(stored.created_at), "session": data}, new=False)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        key = session.identity
        if session.empty:
            if key is not None:
                await self._store_of().run(accounts.end_session, key_hash(key))
            self.save_cookie(response, "", max_age=0)
            return
        if key is None:
            key = secrets.token_urlsafe(32)
            self.save_cookie(response, key)
        data = dict(session)
        now = self._clock()
        await self._store_of().run(
            accounts.save_session, key_hash(key), data.get(ACCOUNT), json.dumps(data), now, now + self._idle
        )
