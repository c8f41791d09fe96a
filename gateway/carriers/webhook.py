"""What every carrier's webhook does with a request: read its form, then hand what it parsed to the
conversation. Carrier field names stay in the carrier modules."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.conversation import Answer
from gateway.messages import BadRequest, Inbound, StatusReport


async def read_form(request: web.Request):
    """The posted form; BadRequest for a body that is not a readable form of text fields."""
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"unreadable form body ({type(exc).__name__})") from None
    if any(not isinstance(value, str) for value in form.values()):
        raise BadRequest("file uploads are not accepted")
    return form


async def receive(request: web.Request, message: Inbound, kind: str) -> Answer:
    """A person's message, processed once; the answer for the carrier's HTTP response."""
    request.app[keys.METRICS].inbound.labels(carrier=message.carrier, kind=kind).inc()
    return await request.app[keys.CONVERSATION].receive(message)


async def report(request: web.Request, status: StatusReport) -> None:
    """A carrier's word on a message we sent."""
    request.app[keys.METRICS].inbound.labels(carrier=status.carrier, kind="status").inc()
    await request.app[keys.CONVERSATION].report(status)
