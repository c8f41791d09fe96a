"""The service's own HTTP routes (health, metrics) and the edge every request passes; each carrier module
declares its webhooks."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from gateway import keys
from gateway.carriers.registry import carriers
from gateway.messages import BadRequest
from gateway.metrics import CONTENT_TYPE_LATEST
from store import outbox
from store.db import DatabaseUnavailable

log = logging.getLogger("lifeline.webhooks")


async def healthz(request: web.Request) -> web.Response:
    """Database reachable, and how far behind the outbox is."""
    try:
        backlog = await request.app[keys.STORE].answer(outbox.backlog, request.app[keys.CLOCK]())
    except Exception as exc:  # any database failure is what this endpoint reports
        return web.json_response({"ok": False, "database": f"unreachable: {type(exc).__name__}"}, status=503)
    problem = request.app[keys.DISPATCHER].problem
    return web.json_response(
        {
            "ok": problem is None,
            "database": "ok",
            "dispatcher": problem or "ok",
            "outbox": {"waiting": backlog.waiting, "oldest_pending_seconds": round(backlog.oldest_age_seconds, 3)},
        },
        status=200 if problem is None else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    now = app[keys.CLOCK]()

    def read():
        return outbox.totals_by_provider_and_status(), outbox.backlog(now)

    totals, backlog = await app[keys.STORE].answer(read)
    app[keys.METRICS].set_outbox(totals, backlog.waiting, backlog.oldest_age_seconds)
    return web.Response(body=app[keys.METRICS].render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    for carrier in carriers().values():
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
        return web.Response(status=400, text=f"{exc}\n")
    except web.HTTPException:
        raise
    except DatabaseUnavailable as exc:  # an outage, not a bug: one line, no traceback
        log.warning("database unavailable on %s: %s", route, exc)
        return unavailable()
    except Exception:
        log.exception("unexpected error on %s", route)
        return unavailable()
    finally:
        request.app[keys.METRICS].webhook_latency.labels(route=route).observe(time.perf_counter() - started)


def unavailable() -> web.Response:
    """Nothing was committed: 503 asks the carrier to retry, so the message is not lost."""
    return web.Response(status=503, text="temporarily unavailable\n", headers={"Retry-After": "5"})
