"""Administration: accounts (the new-user form, block, reset, role) and the audit trail."""

from __future__ import annotations

from aiohttp import web

from gateway.console.forms import AccountForm, ActionForm, RoleForm
from gateway.console.pages import now, official_of, posted, render, requires, run, state
from handlers.backoffice import accounts as rules
from handlers.backoffice.errors import OptionError
from store import accounts, audit


@requires("accounts")
async def accounts_page(request: web.Request, problem: str | None = None, status: int = 200, extra=None):
    everyone = await run(request, accounts.everyone)
    context = {"accounts": everyone, "problem": problem, "notice": request.query.get("notice"), **(extra or {})}
    return await render(request, "accounts.html", context, status=status)


@requires("accounts")
async def account_create(request: web.Request) -> web.StreamResponse:
    form = await posted(request, AccountForm)
    official = official_of(request)
    directory = state(request).directory
    try:
        await run(
            request,
            rules.create,
            directory,
            form.email.data or "",
            form.role.data or "",
            form.consulate.data or None,
            form.password.data or "",
            official.email,
            now(request),
            form.language.data or "es",
        )
    except OptionError as exc:
        return await accounts_page(request, str(exc), status=400)
    raise web.HTTPSeeOther("/console/accounts?notice=created")


def _target(request: web.Request) -> int:
    try:
        return int(request.match_info["account"])
    except ValueError:
        raise web.HTTPNotFound() from None


@requires("accounts")
async def account_block(request: web.Request) -> web.StreamResponse:
    await posted(request, ActionForm)
    blocked = request.match_info["what"] == "block"
    try:
        await run(request, rules.set_blocked, official_of(request), _target(request), blocked, now(request))
    except OptionError as exc:
        return await accounts_page(request, str(exc), status=400)
    raise web.HTTPSeeOther("/console/accounts?notice=done")


@requires("accounts")
async def account_reset(request: web.Request) -> web.StreamResponse:
    await posted(request, ActionForm)
    try:
        temporary = await run(request, rules.reset_password, official_of(request), _target(request), now(request))
    except OptionError as exc:
        return await accounts_page(request, str(exc), status=400)
    return await accounts_page(request, extra={"temporary": temporary})


@requires("accounts")
async def account_role(request: web.Request) -> web.StreamResponse:
    form = await posted(request, RoleForm)
    directory = state(request).directory
    try:
        await run(
            request,
            rules.set_role,
            directory,
            official_of(request),
            _target(request),
            form.role.data or "",
            form.consulate.data or None,
            now(request),
        )
    except OptionError as exc:
        return await accounts_page(request, str(exc), status=400)
    raise web.HTTPSeeOther("/console/accounts?notice=done")


@requires("audit")
async def audit_page(request: web.Request) -> web.StreamResponse:
    action = request.query.get("action") or None
    actor = request.query.get("actor") or None
    entries = await run(request, audit.entries, action, actor)
    return await render(request, "audit.html", {"entries": entries, "action": action or "", "actor": actor or ""})
