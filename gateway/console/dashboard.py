"""The dashboard: counts for the account's scope (alerts, acknowledgement times, bookings today, what the
SMS cost, the outbox), with small server-drawn charts. Counts only, no personal data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway.console.access import consulates_in_scope
from gateway.console.charts import bars
from gateway.console.pages import now, official_of, render, requires, run, state
from handlers.backoffice.day_sheet import day_bounds
from store import complaints, figures


@requires("dashboard")
async def dashboard_page(request: web.Request) -> web.StreamResponse:
    official = official_of(request)
    scope = consulates_in_scope(official)
    directory = state(request).directory
    at = now(request)
    consulates = [c for c in directory.consulates if scope is None or c.id in scope]

    def read():
        today = {}
        for consulate in consulates:
            local = datetime.fromtimestamp(at, ZoneInfo(consulate.time_zone)).date()
            count = figures.bookings_between((consulate.id,), *day_bounds(consulate, local)).get(consulate.id, 0)
            if count:
                today[consulate.short_name] = count
        return (
            figures.alerts(scope, at),
            today,
            figures.messages_by_provider(at - 30 * figures.DAY),
            figures.backlog(),
            complaints.counts() if scope is None else {},
        )

    alerts, bookings_today, providers, (waiting, failed), threads = await run(request, read)
    return await render(
        request,
        "dashboard.html",
        {
            "alerts": alerts,
            "chart": bars(alerts.per_day, "alerts per day"),
            "bookings_today": bookings_today,
            "providers": providers,
            "waiting": waiting,
            "failed": failed,
            "threads": threads,
            "minutes": lambda seconds: "-" if seconds is None else f"{seconds / 60:.1f}",
        },
    )
