"""What every console page shares: who is logged in, the permission a page needs, rendering in the
account's language with its CSRF token, and the answers for refused or bad requests."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from gateway.console.access import allowed
from gateway.console.forms import ActionForm, FormData
from gateway.console.i18n import Words
from gateway.console.sessions import ACCOUNT
from gateway.conversation import Conversation
from handlers.reference.consulates import Directory
from handlers.reference.services import Service
from store import accounts
from store.accounts import Official
from store.db import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = "public"  # the login pages and static files
SIGNED_IN = "signed_in"  # any account, even one that must first change its password or enrol


@dataclass(frozen=True)
class ConsoleState:
    """What the console works with, given by the service (the console reads no app key of the gateway)."""

    words: Words
    default_language: str
    store_of: Callable[[], Store]  # opened at start-up, after the routes are made
    clock: Callable[[], float]
    conversation_of: Callable[[], Conversation]  # officials' actions that send SMS go through it
    directory: Directory
    services: tuple[Service, ...]


STATE = web.AppKey("console_state", ConsoleState)
OFFICIAL = web.RequestKey("official", Official)  # the account of this request


def requires(permission: str) -> Callable[[Handler], Handler]:
    """Marks a view with the permission it needs; the guard refuses everyone else (a page without one
    is refused to all: see tests/test_console_access.py)."""

    def mark(view: Handler) -> Handler:
        view.permission = permission  # type: ignore[attr-defined]
        return view

    return mark


def permission_of(view) -> str | None:
    return getattr(view, "permission", None)


def official_of(request: web.Request) -> Official | None:
    return request.get(OFFICIAL)


def state(request: web.Request) -> ConsoleState:
    return request.config_dict[STATE]


def now(request: web.Request) -> float:
    return state(request).clock()


async def run(request: web.Request, fn, *args):
    """One store transaction, off the event loop."""
    return await state(request).store_of().run(fn, *args)


def address_of(request: web.Request) -> str:
    """The client's address, for throttling (behind a proxy, the proxy's: configure it to pass one)."""
    return request.remote or "unknown"


async def render(request: web.Request, template: str, context: dict | None = None, status: int = 200):
    """The page in the account's language (or ?lang= on the login pages), with a fresh CSRF form."""
    official = official_of(request)
    state = request.config_dict[STATE]
    language = official.language if official else request.query.get("lang", state.default_language)
    session = await get_session(request)
    page = {
        "t": state.words.translator(language),
        "language": language,
        "official": official,
        "can": lambda permission, consulate=None: allowed(official, permission, consulate),
        "token": ActionForm(meta={"csrf_context": session}).csrf_token,
        "now": now(request),
        "time": time,
    }
    response = aiohttp_jinja2.render_template(template, request, {**page, **(context or {})}, status=status)
    return response


async def posted(request: web.Request, form_class):
    """The posted form, checked; raises 400 (the form page again, with a short message) when its CSRF token
    is missing or wrong."""
    return await posted_data(request, await request.post(), form_class)


async def posted_data(request: web.Request, data, form_class):
    """`posted` for a form already read (one with a file)."""
    session = await get_session(request)
    form = form_class(FormData(data), meta={"csrf_context": session})
    form.validate()
    if "csrf_token" in form.errors:
        raise web.HTTPBadRequest(text=_expired(request), content_type="text/html")
    return form


def _expired(request: web.Request) -> str:
    official = official_of(request)
    state = request.config_dict[STATE]
    t = state.words.translator(official.language if official else state.default_language)
    return f'<!doctype html><meta charset=utf-8><p>{t("form_expired")} <a href="{request.path}">↻</a></p>'


async def signed_in_account(request: web.Request) -> Official | None:
    """The session's account, read afresh (a blocked or changed account is seen at once)."""
    session = await get_session(request)
    account_id = session.get(ACCOUNT)
    if not isinstance(account_id, int):
        return None
    official = await run(request, accounts.by_id, account_id)
    if official is None or official.blocked:
        session.invalidate()
        return None
    return official


def csv_download(text: str, name: str) -> web.Response:
    """A CSV file the browser saves under that name."""
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
