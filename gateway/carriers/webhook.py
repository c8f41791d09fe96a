"""What every carrier's webhook does with a request: read its form, then hand what it parsed to the
conversation. Carrier field names stay in the carrier modules."""

from __future__ import annotations

import asyncio

from aiohttp import hdrs, web

from gateway import keys
from gateway.conversation import Answer
from gateway.messages import BadRequest, Inbound, StatusReport

# Why a body cannot be read: bytes that are not text in the declared charset (UnicodeDecodeError,
# ValueError), a charset Python does not know (LookupError), a broken transfer encoding
# (RequestPayloadError), a body cut short by the client leaving (ConnectionResetError).
UNREADABLE = (ValueError, LookupError, web.RequestPayloadError, ConnectionResetError)


# Carriers post a few hundred bytes at once; a body still incomplete after this is cut short (a client
# that stopped sending), answered 400 rather than held open until the client leaves.
BODY_SECONDS = 10.0


async def read_form(request: web.Request):
    """The posted form; BadRequest for a body that is not a readable form of text fields."""
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower() != "identity":
        raise BadRequest("compressed form body")  # carriers never compress; the app does not decode (app.py)
    try:
        if request.content.is_eof():  # the whole body came with the headers, as nearly always: no wait
            form = await request.post()
        else:
            async with asyncio.timeout(BODY_SECONDS):
                form = await request.post()
    except TimeoutError:
        raise BadRequest("form body incomplete") from None
    except UNREADABLE:
        raise BadRequest("unreadable form body") from None
    if any(not isinstance(value, str) for value in form.values()):
        raise BadRequest("file uploads are not accepted")
    return form


async def receive(request: web.Request, message: Inbound, kind: str) -> Answer:
    """A person's message, processed once; the answer for the carrier's HTTP response."""
    request.app[keys.METRICS].count_inbound(message.carrier, kind)
    return await request.app[keys.CONVERSATION].receive(message)


async def report(request: web.Request, status: StatusReport) -> None:
    """A carrier's word on a message we sent."""
    request.app[keys.METRICS].count_inbound(status.carrier, "status")
    await request.app[keys.CONVERSATION].report(status)
