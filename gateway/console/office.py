"""A consulate's office work: the duty roster (the same rules as `run.py roster`) and the day's bookings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway.console.access import allowed, consulates_in_scope
from gateway.console.forms import ActionForm, ShiftForm
from gateway.console.pages import now, official_of, posted, render, requires, run, state
from handlers.backoffice import bookings, roster
from handlers.backoffice.errors import OptionError
from store import audit
from store import roster as shifts


def _consulates(request: web.Request):
    """The consulates the account may work on."""
    directory = state(request).directory
    scope = consulates_in_scope(official_of(request))
    return [c for c in directory.consulates if scope is None or c.id in scope]


@requires("roster")
async def roster_page(request: web.Request, problem: str | None = None, status: int = 200) -> web.StreamResponse:
    directory = state(request).directory
    official = official_of(request)
    lines = await run(request, roster.listing, directory, None, now(request))
    lines = [line for line in lines if allowed(official, "roster", line.consulate)]
    return await render(
        request,
        "roster.html",
        {"lines": lines, "consulates": _consulates(request), "problem": problem, "notice": request.query.get("notice")},
        status=status,
    )


@requires("roster.edit")
async def roster_add(request: web.Request) -> web.StreamResponse:
    form = await posted(request, ShiftForm)
    official = official_of(request)
    directory = state(request).directory
    if not form.validate():
        return await roster_page(request, "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()), 400)
    consulate = (form.consulate.data or "").strip().lower()
    if not allowed(official, "roster.edit", consulate):
        return await roster_page(request, "consulate: not yours", status=403)

    def add():
        shift = roster.add(
            directory, consulate, form.phone.data, form.starts.data or None, form.ends.data or None, now(request)
        )
        audit.append(official.email, "roster.add", f"shift {shift.id}", consulate, now(request))

    try:
        await run(request, add)
    except OptionError as exc:
        return await roster_page(request, str(exc), status=400)
    raise web.HTTPSeeOther("/console/roster?notice=done")


@requires("roster.edit")
async def roster_end(request: web.Request) -> web.StreamResponse:
    await posted(request, ActionForm)
    official = official_of(request)
    shift_id = int(request.match_info["shift"])

    def end():
        shift = next((s for s in shifts.shifts(None, now(request)) if s.id == shift_id), None)
        if shift is None or not allowed(official, "roster.edit", shift.consulate):
            return False
        roster.end(shift_id, now(request))
        audit.append(official.email, "roster.end", f"shift {shift_id}", shift.consulate, now(request))
        return True

    if not await run(request, end):
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    raise web.HTTPSeeOther("/console/roster?notice=done")


@requires("bookings")
async def bookings_page(request: web.Request) -> web.StreamResponse:
    consulates = _consulates(request)
    if not consulates:
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    wanted = request.query.get("consulate", consulates[0].id).lower()
    consulate = next((c for c in consulates if c.id == wanted), None)
    if consulate is None:
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    try:
        day = date.fromisoformat(request.query.get("date", ""))
    except ValueError:
        day = datetime.fromtimestamp(now(request), ZoneInfo(consulate.time_zone)).date()
    official = official_of(request)
    services = state(request).services
    lines = await run(request, bookings.day, consulate, day, services, official.language)
    return await render(
        request,
        "bookings.html",
        {
            "lines": lines,
            "consulate": consulate,
            "consulates": consulates,
            "day": day,
            "notice": request.query.get("notice"),
        },
    )


@requires("bookings")
async def booking_cancel(request: web.Request) -> web.StreamResponse:
    await posted(request, ActionForm)
    official = official_of(request)
    consulate = state(request).directory.by_id(request.match_info["consulate"].lower())
    if consulate is None or not allowed(official, "bookings", consulate.id):
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    result = (
        await state(request)
        .conversation_of()
        .on_behalf(bookings.cancel, consulate, request.match_info["reference"], official.email)
    )
    day = request.query.get("date", "")
    raise web.HTTPSeeOther(f"/console/bookings?consulate={consulate.id}&date={day}&notice={result.outcome}")
