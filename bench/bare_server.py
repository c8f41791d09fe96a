"""The baseline for the USSD benchmark: the same route and form parsing, a fixed screen, nothing else."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web


async def ussd(request: web.Request) -> web.Response:
    form = await request.post()
    if not form.get("sessionId") or not form.get("phoneNumber"):
        raise web.HTTPBadRequest()
    return web.Response(text="CON Lifeline\n1 Help\n0 Exit", content_type="text/plain")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    app = web.Application()
    app.router.add_post("/africastalking/ussd", ussd)
    app.router.add_get("/healthz", healthz)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None, print=None)
