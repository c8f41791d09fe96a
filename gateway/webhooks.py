"""HTTP routes: each carrier webhook is verified and parsed by its carrier module, then handed on."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from gateway import keys
from gateway.carriers import africastalking, twilio
from gateway.messages import BadRequest, StatusReport
from gateway.metrics import CONTENT_TYPE_LATEST
from store import inbound as inbound_store
from store import outbox

log = logging.getLogger("lifeline.webhooks")


async def read_form(request: web.Request):
    """The posted form; BadRequest for a body that is not a readable form of text fields."""
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"unreadable form body ({type(exc).__name__})") from None
    if any(not isinstance(value, str) for value in form.values()):
        raise BadRequest("file uploads are not accepted")
    return form


def _at_token(request: web.Request) -> None:
    africastalking.verify(request.query, request.app[keys.SETTINGS].at_callback_token)


async def _twilio_form(request: web.Request):
    """The form, once its X-Twilio-Signature is checked against the URL Twilio called."""
    form = await read_form(request)
    settings = request.app[keys.SETTINGS]
    # Behind a proxy, request.url is the inside address; Twilio signed the public one.
    url = settings.public_url + request.path_qs if settings.public_url else str(request.url)
    twilio.verify(url, form, request.headers.get("X-Twilio-Signature"), settings.twilio_auth_token)
    return form


async def at_ussd(request: web.Request) -> web.Response:
    _at_token(request)
    message = africastalking.parse_ussd(await read_form(request))
    request.app[keys.METRICS].inbound.labels(carrier="africastalking", kind="ussd").inc()
    answer = await request.app[keys.CONVERSATION].receive(message)
    return africastalking.format_ussd(answer.text or "", answer.ends)


async def at_ussd_events(request: web.Request) -> web.Response:
    _at_token(request)
    ended = africastalking.parse_ussd_end(await read_form(request))
    request.app[keys.METRICS].inbound.labels(carrier="africastalking", kind="ussd_end").inc()
    await request.app[keys.STORE].run(
        inbound_store.record_ussd_end,
        ended.carrier,
        ended.session_id,
        ended.status,
        ended.hops,
        ended.duration_ms,
        ended.error,
        request.app[keys.CLOCK](),
    )
    return web.Response(text="OK")


async def at_sms(request: web.Request) -> web.Response:
    _at_token(request)
    message = africastalking.parse_inbound(await read_form(request))
    request.app[keys.METRICS].inbound.labels(carrier="africastalking", kind="sms").inc()
    await request.app[keys.CONVERSATION].receive(message)
    return web.Response(text="OK")


async def at_delivery(request: web.Request) -> web.Response:
    _at_token(request)
    await _record_status(request, africastalking.parse_status(await read_form(request)))
    return web.Response(text="OK")


async def twilio_sms(request: web.Request) -> web.Response:
    message = twilio.parse_inbound(await _twilio_form(request))
    request.app[keys.METRICS].inbound.labels(carrier="twilio", kind="sms").inc()
    await request.app[keys.CONVERSATION].receive(message)
    return twilio.format_reply()


async def twilio_status(request: web.Request) -> web.Response:
    await _record_status(request, twilio.parse_status(await _twilio_form(request)))
    return web.Response(status=204)


async def _record_status(request: web.Request, report: StatusReport) -> None:
    request.app[keys.METRICS].inbound.labels(carrier=report.carrier, kind="status").inc()
    await request.app[keys.CONVERSATION].report(report)


async def healthz(request: web.Request) -> web.Response:
    """Database reachable, and how far behind the outbox is."""
    try:
        backlog = await request.app[keys.STORE].run(outbox.backlog, request.app[keys.CLOCK]())
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

    totals, backlog = await app[keys.STORE].run(read)
    app[keys.METRICS].set_outbox(totals, backlog.waiting, backlog.oldest_age_seconds)
    return web.Response(body=app[keys.METRICS].render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/africastalking/ussd", at_ussd)
    app.router.add_post("/africastalking/ussd/events", at_ussd_events)
    app.router.add_post("/africastalking/sms", at_sms)
    app.router.add_post("/africastalking/delivery", at_delivery)
    app.router.add_post("/twilio/sms", twilio_sms)
    app.router.add_post("/twilio/status", twilio_status)
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
    except Exception:
        log.exception("unexpected error on %s", route)
        if route == "/africastalking/ussd":
            # The person still gets a screen; the session can be dialled again.
            return africastalking.format_ussd(request.app[keys.TEXTS].say(None, "errors.ussd_unavailable"), True)
        # Nothing was committed: 503 asks the carrier to retry, so the message is not lost.
        return web.Response(status=503, text="temporarily unavailable\n", headers={"Retry-After": "5"})
    finally:
        request.app[keys.METRICS].webhook_latency.labels(route=route).observe(time.perf_counter() - started)
