"""The console's weight and speed with a busy desk: each page's transfer size (HTML and assets, as the
browser received them, compressed) and the time to load and render it in headless Chromium, with 500 open
alerts and 20,000 outbox messages. Run by `make bench`; prints a table and writes bench/console.json."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestServer  # noqa: E402

from gateway.app import create_app  # noqa: E402
from gateway.settings import Settings  # noqa: E402

ALERTS = 500
MESSAGES = 20_000
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
PLACES = ("77002", "77036", "Pasadena TX", "Baytown TX", "77450", "Sugar Land TX", "Conroe TX", "Galveston TX")


def fill(directory, now: float) -> None:
    """500 open alerts at Houston, each with a person, and 20,000 sent messages."""
    from handlers.backoffice import accounts
    from store import alerts, outbox
    from store.db import database
    from store.models import Person

    with database.atomic():
        accounts.create(directory, "olga@example.org", "officer", "houston", PASSWORD, "bench", now)
        for n in range(ALERTS):
            phone = f"+1713555{n:04d}"  # the alerts spread over Houston's area by their stated location
            person = Person.create(
                phone_hash=f"bench{n}", phone=phone, name=f"Persona {n}", created_at=now, last_seen_at=now
            )
            alert = alerts.raise_alert(person.id, "Me detuvieron cerca de la carretera 59", "houston", now - n * 30)
            alerts.set_location(alert, PLACES[n % len(PLACES)], now)
        for n in range(MESSAGES):
            outbox.enqueue(
                outbox.NewMessage(
                    f"bench:{n}",
                    f"+1713555{n % 9999:04d}",
                    "Lifeline: un aviso de prueba",
                    "gsm7",
                    1,
                    ("console",),
                    tag=None,
                ),
                now,
            )


async def measure() -> list[dict]:
    from playwright.async_api import async_playwright

    from gateway import keys

    work = Path(tempfile.mkdtemp(prefix="lifeline-bench-console-"))
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "LIFELINE_KEY_FILE": str(work / "bench.key"),
            "LIFELINE_CONFIG": str(ROOT / "config"),
            "LIFELINE_MENUS": str(ROOT / "menus"),
            "SMS_PROVIDERS": "console",
        }
    )
    app = create_app(settings)
    server = TestServer(app)
    await server.start_server()
    try:
        await app[keys.STORE].run(fill, _directory(), time.time())
        base = str(server.make_url("")).rstrip("/")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page()
            await page.goto(f"{base}/console/login")
            await page.fill("input[name=email]", "olga@example.org")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("form button")
            await page.wait_for_url(f"{base}/console/")
            reference = (await page.inner_text("#alerts tbody tr a")).strip()
            rows = []
            for name, path in (
                ("login", "/console/login"),
                ("desk (500 open alerts)", "/console/"),
                ("desk poll (rows only)", "/console/alerts/rows"),
                ("an alert", f"/console/alerts/{reference}"),
                ("dashboard", "/console/dashboard"),
                ("map (500 alerts)", "/console/map"),
                ("roster", "/console/roster"),
                ("bookings", "/console/bookings"),
            ):
                rows.append(await _load(page, base + path, name))
            await browser.close()
        return rows
    finally:
        await server.close()
        shutil.rmtree(work, ignore_errors=True)


def _directory():
    from handlers.reference.consulates import Directory

    return Directory.load(ROOT / "config" / "consulates.yaml")


async def _load(page, url: str, name: str) -> dict:
    finished = []

    def collect(request) -> None:
        finished.append(request)

    page.on("requestfinished", collect)
    try:
        await page.goto(url, wait_until="load")
        await page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("requestfinished", collect)
    total = 0
    for request in finished:
        sizes = await request.sizes()  # as received: compressed body plus headers
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    load_ms = await page.evaluate(
        "(() => { const t = performance.getEntriesByType('navigation')[0]; return t ? t.loadEventEnd : 0; })()"
    )
    return {"page": name, "bytes": total, "requests": len(finished), "load_ms": round(load_ms, 1)}


def main() -> None:
    if not Path(CHROMIUM).exists():
        print("console bench skipped: no Chromium (apt-get install chromium)")
        return
    rows = asyncio.run(measure())
    print(f"{'console page':<26} {'transferred':>12} {'requests':>9} {'load + render':>14}")
    for row in rows:
        print(f"{row['page']:<26} {row['bytes'] / 1024:>9.1f} kB {row['requests']:>9} {row['load_ms']:>11.1f} ms")
    (ROOT / "bench" / "console.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
