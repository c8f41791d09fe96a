"""/api/v1/: the console's data and actions for a ministry's own systems, as JSON. Bearer tokens per account
(`run.py admin token`), the same role scopes as the pages, rate limited per token, every read of personal
data audited. The OpenAPI document is served at /api/v1/openapi.json."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

from aiohttp import web

from gateway.console.access import allowed, consulates_in_scope
from gateway.console.openapi import document
from gateway.console.pages import STATE, ConsoleState
from gateway.phones import mask
from handlers.backoffice import bookings, desk, roster
from store import accounts, alerts, audit, tokens
from store.accounts import Official

OFFICIAL = web.RequestKey("api_official", Official)
STATUSES = ("open", "closed", "cancelled")
MAX_LIMIT = 100
RATE = 120  # requests a minute per token, counted in the database: one limit for every server process


def problem(status: int, message: str, **headers: str) -> web.Response:
    """An error as JSON; the message is fixed text, never the request's input."""
    return web.json_response({"error": message}, status=status, headers=headers)


def _state(request: web.Request) -> ConsoleState:
    return request.config_dict[STATE]


async def _run(request: web.Request, fn, *args):
    return await _state(request).store_of().run(fn, *args)


@web.middleware
async def authenticate(request: web.Request, handler) -> web.StreamResponse:
    """Bearer token → account; then the rate limit. The OpenAPI document is public."""
    if request.path.endswith("/openapi.json"):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        return problem(401, "a bearer token is required", **{"WWW-Authenticate": "Bearer"})
    token = header.removeprefix("Bearer ").strip()
    account_id = await _run(request, tokens.account_of, token, _state(request).clock())
    official = await _run(request, accounts.by_id, account_id) if account_id else None
    if official is None or official.blocked:
        return problem(401, "unknown, revoked or blocked token", **{"WWW-Authenticate": "Bearer"})
    wait = await _run(request, tokens.take_request, tokens.token_hash(token), _state(request).clock(), RATE)
    if wait:
        return problem(429, "too many requests", **{"Retry-After": str(max(1, round(wait)))})
    request[OFFICIAL] = official
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 405:
            return problem(405, "method not allowed")
        if exc.status == 404:
            return problem(404, "not found")
        raise


def _need(request: web.Request, permission: str) -> Official:
    official = request[OFFICIAL]
    if not allowed(official, permission):
        raise web.HTTPForbidden(
            text=json.dumps({"error": "not allowed for this account"}), content_type="application/json"
        )
    return official


def _timestamp(text: str | None, name: str) -> float | None:
    if text is None or text == "":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name} must be an ISO 8601 date-time"}), content_type="application/json"
        ) from None
    return moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=None).timestamp()


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds") if epoch else None


def _alert(alert) -> dict:
    return {
        "reference": alert.reference,
        "status": alert.status,
        "consulate": alert.consulate,
        "created_at": _iso(alert.created_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "escalated_at": _iso(alert.escalated_at),
        "closed_at": _iso(alert.closed_at),
        "cancelled_at": _iso(alert.cancelled_at),
        "under_duress": alert.duress_reason is not None or alert.duress_at is not None,
        "person_phone_masked": mask(alert.phone) if alert.phone else None,
    }


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def list_alerts(request: web.Request) -> web.Response:
    official = _need(request, "desk")
    query = request.query
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise _bad(f"status must be one of {', '.join(STATUSES)}")
    scope = consulates_in_scope(official)
    consulate = query.get("consulate") or None
    if consulate is not None:
        consulate = consulate.lower()
        if scope is not None and consulate not in scope:
            raise web.HTTPForbidden(
                text=json.dumps({"error": "not allowed for this account"}), content_type="application/json"
            )
        scope = (consulate,)
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        raise _bad("limit must be a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"limit must be 1 to {MAX_LIMIT}")
    before = _cursor(query.get("cursor"))
    since, until = _timestamp(query.get("since"), "since"), _timestamp(query.get("until"), "until")
    found = await _run(request, alerts.listed, status, scope, since, until, before, limit + 1)
    page, more = found[:limit], len(found) > limit
    next_cursor = base64.urlsafe_b64encode(str(page[-1][0]).encode()).decode() if more and page else None
    return web.json_response({"items": [_alert(a) for _, a in page], "next_cursor": next_cursor})


def _cursor(text: str | None) -> int | None:
    if not text:
        return None
    try:
        value = int(base64.urlsafe_b64decode(text.encode("ascii") + b"==").decode("ascii"))
    except (ValueError, UnicodeError):
        raise _bad("cursor is not one this API gave") from None
    if value < 0 or value > 2**62:
        raise _bad("cursor is not one this API gave")
    return value


async def get_alert(request: web.Request) -> web.Response:
    official = _need(request, "desk")
    reference = request.match_info["reference"].upper()
    state = _state(request)

    def read():
        emails = [o.email for o in accounts.everyone()]
        view = desk.alert_view(reference, consulates_in_scope(official), state.directory, emails)
        if view is not None:
            audit.append(official.email, "api.alert", reference, "timeline, numbers masked", state.clock())
        return view

    view = await _run(request, read)
    if view is None:
        return problem(404, "no such alert in this account's scope")
    timeline = [
        {
            "at": _iso(e.at),
            "kind": e.kind,
            "role": e.role,
            "to_masked": mask(e.who) if e.kind == "relay" and e.who else None,
            "provider": e.provider,
            "status": e.status,
            "reports": list(e.reports),
        }
        for e in view.events
    ]
    return web.json_response({**_alert(view.alert), "office": view.office, "timeline": timeline})


async def act_on_alert(request: web.Request) -> web.Response:
    official = _need(request, "alert.act")
    reference = request.match_info["reference"].upper()
    verb = request.match_info["verb"]
    text = ""
    if verb in ("reply", "note"):
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise _bad('the body must be JSON: {"text": "..."}') from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
            raise _bad("text is required")
        text = body["text"][: desk.MAX_TEXT]
    state = _state(request)
    result = await state.conversation_of().on_behalf(
        desk.act_audited, reference, verb, official.email, text, consulates_in_scope(official)
    )
    if result.outcome == "not_found":
        return problem(404, "no such alert in this account's scope")
    return web.json_response({"reference": reference, "outcome": result.outcome})


async def list_bookings(request: web.Request) -> web.Response:
    official = _need(request, "bookings")
    state = _state(request)
    consulate = state.directory.by_id((request.query.get("consulate") or "").lower())
    if consulate is None:
        raise _bad("consulate must be a consulate id")
    if not allowed(official, "bookings", consulate.id):
        return problem(403, "not allowed for this account")
    try:
        day = date.fromisoformat(request.query.get("date", ""))
    except ValueError:
        raise _bad("date must be YYYY-MM-DD") from None

    def read():
        lines = bookings.day(consulate, day, state.services, official.language)
        audit.append(
            official.email, "api.bookings", consulate.id, f"{day} {len(lines)} row(s), names masked", state.clock()
        )
        return lines

    lines = await _run(request, read)
    items = [{"reference": b.reference, "time": b.time, "service": b.service, "status": b.status} for b in lines]
    return web.json_response({"consulate": consulate.id, "date": day.isoformat(), "items": items})


async def list_roster(request: web.Request) -> web.Response:
    official = _need(request, "roster")
    state = _state(request)
    lines = await _run(request, roster.listing, state.directory, None, state.clock())
    items = [
        {"id": s.id, "consulate": s.consulate, "phone_masked": mask(s.phone), "since": s.since, "until": s.until}
        for s in lines
        if allowed(official, "roster", s.consulate)
    ]
    return web.json_response({"items": items})


async def list_consulates(request: web.Request) -> web.Response:
    _need(request, "desk")
    consulates = [
        {
            "id": c.id,
            "name": c.short_name,
            "network": c.network,
            "city": c.city,
            "state": c.state,
            "latitude": c.latitude,
            "longitude": c.longitude,
        }
        for c in _state(request).directory.consulates
    ]
    return web.json_response({"items": consulates})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


def api_app(state: ConsoleState) -> web.Application:
    app = web.Application(middlewares=[authenticate])
    app[STATE] = state
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/alerts", list_alerts)
    app.router.add_get("/alerts/{reference}", get_alert)
    app.router.add_post("/alerts/{reference}/{verb:ack|reply|note|close}", act_on_alert)
    app.router.add_get("/bookings", list_bookings)
    app.router.add_get("/roster", list_roster)
    app.router.add_get("/consulates", list_consulates)
    return app
