"""The alert desk: open alerts (refreshed by a small poll), one alert's timeline and the officer's actions,
numbers and names masked unless revealed with a reason (break-glass, audited)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp_session import get_session

from gateway.console.access import allowed, consulates_in_scope
from gateway.console.forms import RevealForm, TextForm
from gateway.console.masking import mask_name
from gateway.console.pages import csv_download, now, official_of, posted, render, requires, run, state
from gateway.phones import mask
from handlers.backoffice import desk, spreadsheet
from store import accounts, alerts, audit

REVEALED = "revealed"  # session key: {reference: until}
REVEAL_SECONDS = 15 * 60


def _revealed(session, reference: str, at: float) -> bool:
    return (session.get(REVEALED) or {}).get(reference, 0) > at


def _row(alert, at: float) -> dict:
    return {
        "reference": alert.reference,
        "consulate": alert.consulate,
        "created_at": alert.created_at,
        "minutes": int((at - alert.created_at) // 60),
        "acknowledged": alert.acknowledged_at is not None,
        "duress": alert.duress_reason is not None or alert.duress_at is not None,
        "who": mask(alert.phone) if alert.phone else "-",
        "name": mask_name(alert.name),
    }


@requires("desk")
async def desk_page(request: web.Request) -> web.StreamResponse:
    refs = ",".join(sorted(_wanted(request)))
    return await render(request, "desk.html", {"rows": await _rows(request), "refs": refs})


def _wanted(request: web.Request) -> set[str]:
    """The alerts behind a map dot (?refs=A7K2,C44N), or every one."""
    return {r for r in request.query.get("refs", "").upper().split(",") if r.isalnum() and len(r) <= 8}


@requires("desk")
async def desk_rows(request: web.Request) -> web.StreamResponse:
    """The table's rows alone, for the page's poll (a few hundred bytes on a slow link)."""
    return await render(request, "desk_rows.html", {"rows": await _rows(request)})


async def _rows(request: web.Request) -> list[dict]:
    scope = consulates_in_scope(official_of(request))
    at = now(request)
    wanted = _wanted(request)
    return [_row(a, at) for a in await run(request, desk.open_alerts, scope) if not wanted or a.reference in wanted]


@requires("desk")
async def alert_page(request: web.Request) -> web.StreamResponse:
    official = official_of(request)
    reference = request.match_info["reference"].upper()
    directory = state(request).directory

    def read():
        emails = [o.email for o in accounts.everyone()]
        return desk.alert_view(reference, consulates_in_scope(official), directory, emails)

    view = await run(request, read)
    if view is None:
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    session = await get_session(request)
    shown = _revealed(session, reference, now(request))
    return await render(
        request,
        "alert.html",
        {
            "view": view,
            "alert": view.alert,
            "shown": shown,
            "show": (lambda number: number or "-") if shown else (lambda number: mask(number) if number else "-"),
            "person_name": view.alert.name if shown else mask_name(view.alert.name),
            "local": lambda at: datetime.fromtimestamp(at, ZoneInfo(view.time_zone)).strftime("%d/%m %H:%M"),
            "notice": request.query.get("notice"),
        },
    )


@requires("alert.act")
async def alert_action(request: web.Request) -> web.StreamResponse:
    official = official_of(request)
    reference = request.match_info["reference"].upper()
    verb = request.match_info["verb"]
    form = await posted(request, TextForm)
    result = (
        await state(request)
        .conversation_of()
        .on_behalf(
            desk.act_audited, reference, verb, official.email, form.text.data or "", consulates_in_scope(official)
        )
    )
    if result.outcome == "not_found":
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    raise web.HTTPSeeOther(f"/console/alerts/{reference}?notice={result.outcome}")


@requires("personal.reveal")
async def reveal(request: web.Request) -> web.StreamResponse:
    """Break-glass: the person's number and name are shown for a while, the reason kept in the audit trail."""
    official = official_of(request)
    reference = request.match_info["reference"].upper()
    form = await posted(request, RevealForm)
    if not form.validate():
        raise web.HTTPSeeOther(f"/console/alerts/{reference}?notice=empty")
    scope = consulates_in_scope(official)

    def record():
        alert = alerts.for_desk(reference)
        if alert is None or not desk.in_scope(alert, scope):
            return False
        audit.append(official.email, "personal.reveal", reference, form.reason.data.strip(), now(request))
        return True

    if not allowed(official, "personal.reveal") or not await run(request, record):
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    session = await get_session(request)
    session[REVEALED] = {**(session.get(REVEALED) or {}), reference: now(request) + REVEAL_SECONDS}
    raise web.HTTPSeeOther(f"/console/alerts/{reference}?notice=revealed")


@requires("desk")
async def alerts_csv(request: web.Request) -> web.StreamResponse:
    """Alerts of the account's scope as CSV (status filter), numbers masked; the export is audited."""
    official = official_of(request)
    status = request.query.get("status") or None
    if status not in (None, "open", "closed", "cancelled"):
        return await render(request, "error.html", {"message": "not_found"}, status=404)

    def export():
        found = alerts.listed(status, consulates_in_scope(official), None, None, None, 10_000)
        audit.append(official.email, "export.alerts", status, f"{len(found)} row(s), masked", now(request))
        return [a for _, a in found]

    rows = [
        (
            a.reference,
            a.status,
            a.consulate,
            _utc(a.created_at),
            _utc(a.acknowledged_at),
            _utc(a.closed_at),
            mask(a.phone) if a.phone else "",
        )
        for a in await run(request, export)
    ]
    columns = ("reference", "status", "consulate", "created_utc", "acknowledged_utc", "closed_utc", "phone")
    text = spreadsheet.write(columns, rows, bom=request.query.get("bom") == "1")
    return csv_download(text, "alerts.csv")


def _utc(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M") if epoch else ""
