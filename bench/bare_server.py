"""Baseline (a) of `make bench`: aiohttp with Lifeline's webhook routes and form parsing, a fixed answer,
nothing else. What a web process costs here before it does any work of its own."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def ussd(request: web.Request) -> web.Response:
    form = await request.post()
    if not form.get("sessionId") or not form.get("phoneNumber"):
        raise web.HTTPBadRequest()
    return web.Response(text="CON Lifeline\n1 Help\n0 Exit", content_type="text/plain")


async def twilio_sms(request: web.Request) -> web.Response:
    form = await request.post()
    if not form.get("From") or not form.get("MessageSid"):
        raise web.HTTPBadRequest()
    return web.Response(text=EMPTY_TWIML, content_type="application/xml")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    app = web.Application()
    app.router.add_post("/africastalking/ussd", ussd)
    app.router.add_post("/twilio/sms", twilio_sms)
    app.router.add_get("/healthz", healthz)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None, print=None)
