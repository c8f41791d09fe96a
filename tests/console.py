"""Helpers for console tests: accounts made as `run.py admin create` makes them, and a logged-in client
that reads each page's CSRF token as a browser would."""

from __future__ import annotations

import re

import pyotp

from gateway import keys
from handlers.backoffice import accounts
from handlers.reference.consulates import Directory
from store import accounts as account_rows
from tests.conftest import ROOT, in_store

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


async def make_account(client, email: str, role: str, consulate: str | None = None, language: str = "es") -> str | None:
    """Creates the account; returns its TOTP secret for roles that must have one."""
    directory = Directory.load(ROOT / "config" / "consulates.yaml")
    now = client.app[keys.CLOCK]()

    def create():
        official = accounts.create(directory, email, role, consulate, PASSWORD, "test", now, language)
        if role in accounts.TOTP_REQUIRED:
            secret = accounts.new_totp_secret()
            accounts.set_totp_now(official, secret, now)
            return secret
        return None

    return await in_store(client, create)


async def csrf(client, path: str) -> str:
    response = await client.get(path)
    found = CSRF.search(await response.text())
    assert found, f"no CSRF token on {path}"
    return found.group(1)


async def log_in(client, email: str, secret: str | None = None, password: str = PASSWORD):
    """Logs in through the form (and the second factor); returns the last response."""
    token = await csrf(client, "/console/login")
    response = await client.post("/console/login", data={"email": email, "password": password, "csrf_token": token})
    if secret is not None and response.url.path == "/console/login/code":
        token = await csrf(client, "/console/login/code")
        code = pyotp.TOTP(secret).now()
        response = await client.post("/console/login/code", data={"code": code, "csrf_token": token})
    return response


async def post_form(client, page: str, action: str, data: dict | None = None):
    """Posts a form of a page with the page's CSRF token."""
    token = await csrf(client, page)
    return await client.post(action, data={**(data or {}), "csrf_token": token})


async def account_id(client, email: str) -> int:
    return (await in_store(client, account_rows.by_email, email)).id


class OtherBrowser:
    """A second browser on the same running service, with cookies of its own."""

    def __init__(self, client):
        import aiohttp

        self._client = client
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def get(self, path: str, **kwargs):
        return await self._session.get(self._client.make_url(path), **kwargs)

    async def post(self, path: str, **kwargs):
        return await self._session.post(self._client.make_url(path), **kwargs)

    async def close(self) -> None:
        await self._session.close()
