"""Logging in (password, then the second factor), enrolling it, changing the password, logging out."""

from __future__ import annotations

import io

import segno
from aiohttp import web
from aiohttp_session import get_session, new_session

from gateway.console.access import allowed
from gateway.console.forms import ActionForm, CodeForm, LoginForm, PasswordForm
from gateway.console.pages import PUBLIC, SIGNED_IN, address_of, now, official_of, posted, render, requires, run
from gateway.console.sessions import ACCOUNT
from handlers.backoffice import accounts as rules
from handlers.backoffice.errors import OptionError
from store import accounts, audit

PENDING = "pending"  # session key: an account whose password was right, waiting for its second factor
ENROLMENT = "enrolment"  # session key: the secret being enrolled


def home_of(official) -> str:
    """The first page an account may see."""
    if allowed(official, "desk"):
        return "/console/"
    return "/console/complaints" if allowed(official, "complaints") else "/console/account/password"


@requires(PUBLIC)
async def login_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "login.html")


@requires(PUBLIC)
async def login(request: web.Request) -> web.StreamResponse:
    form = await posted(request, LoginForm)
    if not form.validate():
        return await render(request, "login.html", {"error": "login_invalid"}, status=400)
    outcome = await run(
        request, rules.check_password, form.email.data, form.password.data, address_of(request), now(request)
    )
    if outcome.official is None:
        status = 429 if outcome.refusal == "throttled" else 403 if outcome.refusal in ("locked", "blocked") else 401
        return await render(request, "login.html", {"error": f"login_{outcome.refusal}"}, status=status)
    session = await new_session(request)  # a new key at each login: no session fixation
    if rules.needs_second_factor(outcome.official):
        session[PENDING] = outcome.official.id
        raise web.HTTPSeeOther("/console/login/code" if outcome.official.has_totp else "/console/login/enrol")
    await run(request, rules.logged_in, outcome.official, now(request))
    session[ACCOUNT] = outcome.official.id
    raise web.HTTPSeeOther(home_of(outcome.official))


async def _pending(request: web.Request):
    session = await get_session(request)
    account_id = session.get(PENDING)
    official = await run(request, accounts.by_id, account_id) if isinstance(account_id, int) else None
    if official is None or official.blocked:
        raise web.HTTPSeeOther("/console/login")
    return session, official


@requires(PUBLIC)
async def code_page(request: web.Request) -> web.StreamResponse:
    await _pending(request)
    return await render(request, "code.html")


@requires(PUBLIC)
async def code(request: web.Request) -> web.StreamResponse:
    session, official = await _pending(request)
    form = await posted(request, CodeForm)
    if not await run(request, rules.check_code, official, form.code.data or "", now(request)):
        return await render(request, "code.html", {"error": "code_wrong"}, status=401)
    return await _complete(request, session, official)


async def _complete(request: web.Request, session, official) -> web.StreamResponse:
    await run(request, rules.logged_in, official, now(request))
    session.pop(PENDING, None)
    session.pop(ENROLMENT, None)
    session[ACCOUNT] = official.id
    raise web.HTTPSeeOther(home_of(official))


@requires(PUBLIC)
async def enrol_page(request: web.Request) -> web.StreamResponse:
    session, official = await _pending(request)
    if official.has_totp:
        raise web.HTTPSeeOther("/console/login/code")
    secret = session.get(ENROLMENT) or rules.new_totp_secret()
    session[ENROLMENT] = secret
    uri = rules.provisioning_uri(official.email, secret)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=4, xmldecl=False, svgns=True)
    return await render(request, "enrol.html", {"uri": uri, "qr": svg.getvalue().decode("utf-8")})


@requires(PUBLIC)
async def enrol(request: web.Request) -> web.StreamResponse:
    session, official = await _pending(request)
    form = await posted(request, CodeForm)
    secret = session.get(ENROLMENT)
    if not secret or not await run(request, rules.enrol_totp, official, secret, form.code.data or "", now(request)):
        raise web.HTTPSeeOther("/console/login/enrol?wrong=1")
    return await _complete(request, session, official)


@requires(SIGNED_IN)
async def password_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "password.html", {"notice": request.query.get("notice")})


@requires(SIGNED_IN)
async def password(request: web.Request) -> web.StreamResponse:
    form = await posted(request, PasswordForm)
    official = official_of(request)
    try:
        await run(
            request, rules.change_password, official, form.current.data or "", form.password.data or "", now(request)
        )
    except OptionError as exc:
        return await render(request, "password.html", {"problem": str(exc)}, status=400)
    # Every session of the account ended with the change; this one is written again as the request ends.
    (await get_session(request)).changed()
    raise web.HTTPSeeOther("/console/account/password?notice=password_changed")


@requires(SIGNED_IN)
async def logout(request: web.Request) -> web.StreamResponse:
    await posted(request, ActionForm)
    official = official_of(request)
    if official:
        await run(request, audit.append, official.email, "logout", official.email, "", now(request))
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/console/login")
