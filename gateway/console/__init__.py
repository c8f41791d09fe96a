"""The officials' web console, a sub-application at /console/: server-rendered pages that read and act
through handlers and the store (never a carrier), with sessions in the database and one authorisation
rule (access.py) consulted for every page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session, session_middleware

from gateway.console import admin, atlas, auth, complaints, dashboard, desk, office
from gateway.console.access import allowed
from gateway.console.i18n import Words
from gateway.console.pages import (
    OFFICIAL,
    PUBLIC,
    SIGNED_IN,
    STATE,
    ConsoleState,
    permission_of,
    render,
    signed_in_account,
)
from gateway.console.sessions import DatabaseStorage
from gateway.conversation import Conversation
from handlers.reference.consulates import Directory
from handlers.reference.services import Service
from store.db import Store

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "console"

ROUTES = [
    web.get("/login", auth.login_page),
    web.post("/login", auth.login),
    web.get("/login/code", auth.code_page),
    web.post("/login/code", auth.code),
    web.get("/login/enrol", auth.enrol_page),
    web.post("/login/enrol", auth.enrol),
    web.post("/logout", auth.logout),
    web.get("/account/password", auth.password_page),
    web.post("/account/password", auth.password),
    web.get("/", desk.desk_page),
    web.get("/alerts/rows", desk.desk_rows),
    web.get("/alerts.csv", desk.alerts_csv),
    web.get("/alerts/{reference}", desk.alert_page),
    web.post("/alerts/{reference}/reveal", desk.reveal),
    web.post("/alerts/{reference}/{verb:ack|reply|note|close|reopen}", desk.alert_action),
    web.get("/roster", office.roster_page),
    web.post("/roster", office.roster_add),
    web.post("/roster/{shift:\\d+}/end", office.roster_end),
    web.get("/roster.csv", office.roster_csv),
    web.post("/roster/import", office.roster_import),
    web.get("/bookings", office.bookings_page),
    web.get("/bookings.csv", office.bookings_csv),
    web.post("/bookings/{consulate}/{reference}/cancel", office.booking_cancel),
    web.get("/accounts", admin.accounts_page),
    web.post("/accounts", admin.account_create),
    web.post("/accounts/{account:\\d+}/{what:block|unblock}", admin.account_block),
    web.post("/accounts/{account:\\d+}/reset", admin.account_reset),
    web.post("/accounts/{account:\\d+}/role", admin.account_role),
    web.get("/audit", admin.audit_page),
    web.get("/dashboard", dashboard.dashboard_page),
    web.get("/map", atlas.map_page),
    web.get("/complaints", complaints.complaints_page),
    web.get("/complaints/{reference}", complaints.complaint_page),
    web.post("/complaints/{reference}/answer", complaints.complaint_answer),
    web.get("/feedback", complaints.feedback_page),
    web.get("/feedback/{reference}", complaints.feedback_one),
    web.post("/feedback/{reference}/answer", complaints.feedback_answer),
]

# Pages are the service's own: no other origin may script, frame or receive them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def console_app(
    store_of: Callable[[], Store],
    clock: Callable[[], float],
    conversation_of: Callable[[], Conversation],
    directory: Directory,
    services: tuple[Service, ...],
    default_language: str,
    secure_cookies: bool,
    idle_seconds: float,
) -> web.Application:
    """The console; store_of() and conversation_of() give what the service opens at start-up."""
    storage = DatabaseStorage(store_of, clock, idle_seconds, secure_cookies)
    app = web.Application(middlewares=[session_middleware(storage), guard])
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    words = Words(TEMPLATES, default_language)
    app[STATE] = ConsoleState(words, default_language, store_of, clock, conversation_of, directory, services)
    app.router.add_routes(ROUTES)
    app.router.add_static("/static/", TEMPLATES / "static", append_version=False)
    return app


@web.middleware
async def guard(request: web.Request, handler) -> web.StreamResponse:
    """Signs the request in (or sends it to the login), checks the page's permission, adds the headers."""
    response = await _guarded(request, handler)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not isinstance(request.match_info.route.resource, web.StaticResource):
        response.headers.setdefault("Cache-Control", "no-store")
        if isinstance(response, web.Response) and response.status == 200:
            response.enable_compression()  # gzip when the browser takes it: a desk of 500 alerts is ~10 kB
    return response


async def _guarded(request: web.Request, handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None or isinstance(
        request.match_info.route.resource, web.StaticResource
    ):
        return await handler(request)
    permission = permission_of(request.match_info.handler)
    if permission == PUBLIC:
        return await handler(request)
    official = await signed_in_account(request)
    if official is None:
        if request.path.endswith("/alerts/rows"):
            raise web.HTTPUnauthorized()  # the poll: the page reloads to the login
        raise web.HTTPSeeOther("/console/login")
    request[OFFICIAL] = official
    (await get_session(request)).changed()  # each request moves the idle timeout
    if official.must_change_password and permission != SIGNED_IN:
        raise web.HTTPSeeOther("/console/account/password")
    if permission is None or (permission != SIGNED_IN and not allowed(official, permission)):
        return await render(request, "error.html", {"message": "forbidden"}, status=403)
    return await handler(request)


def is_https(public_url: str | None) -> bool:
    return bool(public_url) and public_url.startswith("https://")
