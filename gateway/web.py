"""The service's own HTTP routes (health, metrics) and the edge every request passes; each carrier module
declares its webhooks."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from gateway import keys
from gateway.carriers.registry import carriers
from gateway.messages import BadRequest
from gateway.metrics import CONTENT_TYPE_LATEST
from store import outbox
from store.db import DatabaseUnavailable

log = logging.getLogger("lifeline.webhooks")


def unreadable_requests_echo_nothing() -> None:
    """aiohttp answers a request it cannot even parse (a bad request line, header or Content-Length) with a
    400 whose body quotes the offending bytes. Input is never sent back raw: the body says only that the
    request could not be read. aiohttp has no setting for it, so its error page is wrapped, once."""
    original = RequestHandler.handle_error
    if getattr(original, "echoes_nothing", False):
        return

    def handle_error(self, request, status=500, exc=None, message=None):
        if status < 500:
            message = "unreadable request\n"
        return original(self, request, status, exc, message)

    handle_error.echoes_nothing = True
    RequestHandler.handle_error = handle_error


def _outbox_state(now: float, alarm_after: float) -> tuple[outbox.Backlog, int]:
    return outbox.backlog(now), outbox.overdue_urgent(now, alarm_after)


async def healthz(request: web.Request) -> web.Response:
    """Database reachable, how far behind the outbox is, and whether urgent messages are overdue.

    "status" is ok, degraded (urgent messages wait longer than outbox.alarm_after_seconds: the carriers
    are failing) or down (the store cannot be used). Degraded answers 200: this process still takes
    webhooks and keeps every message, and a load balancer must not take it out of service for what
    the carriers do. Down answers 503.
    """
    app = request.app
    try:
        backlog, overdue = await app[keys.STORE].answer(
            _outbox_state, app[keys.CLOCK](), app[keys.DISPATCHER].policy.alarm_after_seconds
        )
    except Exception as exc:  # any database failure is what this endpoint reports
        unreachable = f"unreachable: {type(exc).__name__}"
        return web.json_response({"ok": False, "status": "down", "database": unreachable}, status=503)
    problem = app[keys.DISPATCHER].problem
    status = "down" if problem else "degraded" if overdue else "ok"
    return web.json_response(
        {
            "ok": problem is None,
            "status": status,
            "database": "ok",
            "dispatcher": problem or "ok",
            "outbox": {
                "waiting": backlog.waiting,
                "oldest_pending_seconds": round(backlog.oldest_age_seconds, 3),
                "overdue_urgent": overdue,
            },
        },
        status=503 if problem else 200,
    )


# Headers a proxy adds: behind one on the same machine every client looks local.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def may_read_metrics(request: web.Request, token: str | None) -> bool:
    """With METRICS_TOKEN set, only `Authorization: Bearer <token>`; without it, only a loopback client
    that came through no proxy."""
    if token is not None:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:  # a Unix socket or no peer address: not known to be local
        return False


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics, for a bearer of METRICS_TOKEN or (without one) local clients only."""
    app = request.app
    token = app[keys.SETTINGS].metrics_token
    if not may_read_metrics(request, token):
        if token is not None:
            raise web.HTTPUnauthorized(text="metrics need METRICS_TOKEN\n", headers={"WWW-Authenticate": "Bearer"})
        raise web.HTTPForbidden(text="metrics are for local clients; set METRICS_TOKEN to read them remotely\n")
    now = app[keys.CLOCK]()
    alarm_after = app[keys.DISPATCHER].policy.alarm_after_seconds

    def read():
        return outbox.totals_by_provider_and_status(), *_outbox_state(now, alarm_after)

    totals, backlog, overdue = await app[keys.STORE].answer(read)
    app[keys.METRICS].set_outbox(totals, backlog.waiting, backlog.oldest_age_seconds, overdue)
    return web.Response(body=app[keys.METRICS].render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    """The webhooks of the carriers this deployment uses (others answer 404), health and metrics."""
    for carrier in carriers().values():
        if carrier.takes_webhooks(app[keys.SETTINGS]):
            app.router.add_routes(carrier.routes)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


@web.middleware
async def edge(request: web.Request, handler) -> web.StreamResponse:
    """Times every request; bad input becomes a 4xx, a failing database a 503 the carrier retries."""
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    try:
        return await handler(request)
    except BadRequest as exc:
        response = web.Response(status=400, text=f"{exc}\n")
        if not request.content.is_eof():
            # The rest of a body that could not be read: close the connection rather than let aiohttp
            # read on into the same error (which it logs as an unhandled exception).
            response.force_close()
        return response
    except web.HTTPException:
        raise
    except DatabaseUnavailable as exc:  # an outage, not a bug: one line, no traceback
        log.warning("database unavailable on %s: %s", route, exc)
        return unavailable()
    except Exception:
        log.exception("unexpected error on %s", route)
        return unavailable()
    finally:
        request.app[keys.METRICS].time_webhook(route, time.perf_counter() - started)


def unavailable() -> web.Response:
    """Nothing was committed: 503 asks the carrier to retry, so the message is not lost."""
    return web.Response(status=503, text="temporarily unavailable\n", headers={"Retry-After": "5"})
