"""A consulate's office work: the duty roster (the same rules as `run.py roster`) and the day's bookings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway.console.access import allowed, consulates_in_scope
from gateway.console.forms import ActionForm, ShiftForm
from gateway.console.masking import mask_name
from gateway.console.pages import (
    csv_download,
    now,
    official_of,
    posted,
    posted_data,
    render,
    requires,
    run,
    state,
)
from gateway.phones import mask
from handlers.backoffice import bookings, roster, spreadsheet
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


@requires("roster")
async def roster_csv(request: web.Request) -> web.StreamResponse:
    official = official_of(request)
    directory = state(request).directory

    def export():
        rows = roster.export_rows(directory, consulates_in_scope(official), now(request))
        audit.append(official.email, "export.roster", None, f"{len(rows)} row(s)", now(request))
        return rows

    rows = await run(request, export)
    return csv_download(spreadsheet.write(roster.COLUMNS, rows, bom=request.query.get("bom") == "1"), "roster.csv")


@requires("roster.edit")
async def roster_import(request: web.Request) -> web.StreamResponse:
    """A CSV of shifts (consulate, phone, from, until): every row valid, or nothing changes."""
    official = official_of(request)
    directory = state(request).directory
    data = await request.post()
    await posted_data(request, data, ActionForm)
    upload = data.get("file")
    if not hasattr(upload, "file"):
        return await roster_page(request, "file: choose a CSV file", status=400)
    try:
        rows = spreadsheet.read(upload.file.read(), roster.COLUMNS)
    except spreadsheet.Unreadable as exc:
        return await roster_page(request, f"file: {exc}", status=400)
    scope = consulates_in_scope(official)
    outside = [n for n, row in rows if scope is not None and row["consulate"].lower() not in scope]
    if outside:
        return await roster_page(request, f"row {outside[0]}: consulate: not yours", status=403)

    def load():
        count = roster.import_rows(directory, rows, now(request))
        audit.append(official.email, "import.roster", None, f"{count} row(s)", now(request))
        return count

    try:
        await run(request, load)
    except OptionError as exc:
        return await roster_page(request, str(exc), status=400)
    raise web.HTTPSeeOther("/console/roster?notice=done")


@requires("bookings")
async def bookings_csv(request: web.Request) -> web.StreamResponse:
    """The day's bookings as CSV, names and numbers masked (the desk's break-glass shows them)."""
    official = official_of(request)
    consulate = state(request).directory.by_id(request.query.get("consulate", "").lower())
    if consulate is None or not allowed(official, "bookings", consulate.id):
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    try:
        day = date.fromisoformat(request.query.get("date", ""))
    except ValueError:
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    services = state(request).services

    def export():
        lines = bookings.day(consulate, day, services, official.language)
        audit.append(
            official.email, "export.bookings", consulate.id, f"{day} {len(lines)} row(s), masked", now(request)
        )
        return lines

    lines = await run(request, export)
    rows = [
        (b.reference, b.time, b.service, mask_name(b.name), mask(b.phone) if b.phone else "", b.status) for b in lines
    ]
    columns = ("reference", "time", "service", "name", "phone", "status")
    return csv_download(
        spreadsheet.write(columns, rows, bom=request.query.get("bom") == "1"), f"bookings-{consulate.id}-{day}.csv"
    )
