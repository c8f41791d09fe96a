"""Confidential complaints (focal points only: not even an administrator reads them) and feedback
(supervisors and administrators), with answers to the person by SMS."""

from __future__ import annotations

from aiohttp import web

from gateway.console.forms import TextForm
from gateway.console.pages import now, official_of, posted, render, requires, run, state
from handlers.backoffice import complaints as desk
from store import complaints


async def _list(request: web.Request, kind: str, section: str) -> web.StreamResponse:
    threads = await run(request, complaints.threads, kind)
    return await render(request, "complaints.html", {"threads": threads, "section": section})


async def _thread(request: web.Request, kind: str, section: str) -> web.StreamResponse:
    official = official_of(request)
    thread = await run(request, desk.read, kind, request.match_info["reference"], official.email, now(request))
    if thread is None:
        return await render(request, "error.html", {"message": "not_found"}, status=404)
    return await render(
        request, "complaint.html", {"thread": thread, "section": section, "notice": request.query.get("notice")}
    )


async def _answer(request: web.Request, kind: str, section: str) -> web.StreamResponse:
    official = official_of(request)
    form = await posted(request, TextForm)
    reference = request.match_info["reference"].upper()
    result = (
        await state(request)
        .conversation_of()
        .on_behalf(desk.answer, kind, reference, official.email, form.text.data or "")
    )
    raise web.HTTPSeeOther(f"/console/{section}/{reference}?notice={result.outcome}")


@requires("complaints")
async def complaints_page(request: web.Request) -> web.StreamResponse:
    return await _list(request, complaints.COMPLAINT, "complaints")


@requires("complaints")
async def complaint_page(request: web.Request) -> web.StreamResponse:
    return await _thread(request, complaints.COMPLAINT, "complaints")


@requires("complaints")
async def complaint_answer(request: web.Request) -> web.StreamResponse:
    return await _answer(request, complaints.COMPLAINT, "complaints")


@requires("feedback")
async def feedback_page(request: web.Request) -> web.StreamResponse:
    return await _list(request, complaints.FEEDBACK, "feedback")


@requires("feedback")
async def feedback_one(request: web.Request) -> web.StreamResponse:
    return await _thread(request, complaints.FEEDBACK, "feedback")


@requires("feedback")
async def feedback_answer(request: web.Request) -> web.StreamResponse:
    return await _answer(request, complaints.FEEDBACK, "feedback")
