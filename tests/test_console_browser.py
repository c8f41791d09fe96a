"""The console in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright through its
executable path). Screenshots of each scenario go to test-artifacts/<run>/ (LIFELINE_TEST_RUN names the run).

Where Chromium is missing these tests are skipped with how to get it; `.ci/run` installs it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests import payloads
from tests.conftest import ROOT
from tests.console import make_account

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
HOUSTON_PERSON = "+17135550142"
RUN = os.environ.get("LIFELINE_TEST_RUN") or time.strftime("%Y%m%d-%H%M%S")
ARTIFACTS = ROOT / "test-artifacts" / RUN

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="browser tests need Chromium: `apt-get install chromium` (or set CHROMIUM_PATH)",
)


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sms_to(fake, number: str, fragment: str, timeout: float = 10):
    """The SMS the fake carrier took for number with fragment in it, waiting for the outbox to send it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in fake.accepted_to(number) if fragment in m.body]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no SMS to {number} with {fragment!r}: {[m.body for m in fake.accepted_to(number)]}")


async def log_in(page, base: str, email: str, password: str = "correct horse battery staple") -> None:
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("form button")


async def test_an_alert_appears_on_the_desk_without_a_reload_and_is_acknowledged(start, fake, browser):
    client = await start("africastalking")
    base = str(client.make_url("")).rstrip("/")
    await make_account(client, "olga@example.org", "officer", "houston")
    page = await browser.new_page()
    await page.clock.install()  # the desk's poll runs on this clock: the test moves it, no waiting
    await log_in(page, base, "olga@example.org")
    await page.wait_for_url(f"{base}/console/")
    assert "No hay avisos abiertos." in await page.inner_text("#alerts")
    document = await page.evaluate("document.timeOrigin")  # the same document throughout: no reload

    # A Houston person presses 1 on the USSD menu.
    await client.post("/africastalking/ussd", data=payloads.at_ussd(HOUSTON_PERSON, "", session="ATUid_b1"))
    await client.post("/africastalking/ussd", data=payloads.at_ussd(HOUSTON_PERSON, "1", session="ATUid_b1"))
    await page.clock.run_for(11_000)
    await page.wait_for_selector("#alerts a")
    row = await page.inner_text("#alerts tbody")
    assert "sin respuesta" in row and "+1******0142" in row and HOUSTON_PERSON not in row
    assert await page.evaluate("document.timeOrigin") == document
    await screenshot(page, "desk-with-alert")

    await page.click("#alerts a")
    await page.click("#ack")
    await page.wait_for_selector("text=Hecho.")
    await screenshot(page, "alert-acknowledged")
    assert await sms_to(fake, HOUSTON_PERSON, "su consulado recibio su aviso")


async def test_an_officer_edits_the_roster(start, browser):
    client = await start("console")
    base = str(client.make_url("")).rstrip("/")
    await make_account(client, "olga@example.org", "officer", "houston")
    page = await browser.new_page()
    await log_in(page, base, "olga@example.org")
    await page.goto(f"{base}/console/roster")
    assert "No hay guardias." in await page.inner_text("table")
    await page.fill("input[name=phone]", "+1 713 555 0180")
    await page.fill("input[name=starts]", "2026-11-30T08:00")
    await page.fill("input[name=ends]", "2026-11-30T20:00")
    await page.click("button:has-text('Agregar guardia')")
    await page.wait_for_selector("text=Hecho.")
    table = await page.inner_text("table")
    assert re.search(r"houston\s+\+17135550180\s+2026-11-30 08:00\s+2026-11-30 20:00", table)
    await screenshot(page, "roster-added")
    await page.click("button:has-text('Terminar')")
    await page.wait_for_selector("text=No hay guardias.")


async def test_a_blocked_account_is_thrown_out(start, browser):
    client = await start("console")
    base = str(client.make_url("")).rstrip("/")
    import pyotp

    secret = await make_account(client, "ada@example.org", "admin")
    await make_account(client, "olga@example.org", "officer", "houston")
    officer = await (await browser.new_context()).new_page()
    await log_in(officer, base, "olga@example.org")
    await officer.wait_for_url(f"{base}/console/")

    admin = await (await browser.new_context()).new_page()
    await log_in(admin, base, "ada@example.org")
    await admin.fill("input[name=code]", pyotp.TOTP(secret).now())
    await admin.click("form button")
    await admin.goto(f"{base}/console/accounts")
    await admin.click("#account-2 button:has-text('Bloquear')")
    await admin.wait_for_selector("#account-2 >> text=bloqueada")
    await screenshot(admin, "account-blocked")

    await officer.goto(f"{base}/console/roster")
    assert officer.url == f"{base}/console/login"
    await screenshot(officer, "thrown-out")


async def test_the_console_loads_nothing_from_other_hosts(start, browser):
    client = await start("console")
    base = str(client.make_url("")).rstrip("/")
    for number in ("+17135550142", "+13125550150", "+12135550142"):  # Houston, Chicago, Los Angeles
        await client.post("/africastalking/ussd", data=payloads.at_ussd(number, "", session=number))
        await client.post("/africastalking/ussd", data=payloads.at_ussd(number, "1", session=number))
    await make_account(client, "olga@example.org", "officer", "houston")
    page = await browser.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(re.sub(r"^(\w+://[^/]+).*", r"\1", request.url)))
    await log_in(page, base, "olga@example.org")
    for path in ("/console/", "/console/map", "/console/dashboard", "/console/roster", "/console/bookings"):
        await page.goto(f"{base}{path}")
        await page.wait_for_load_state("networkidle")
        if path == "/console/map":
            await screenshot(page, "map")
            assert await page.locator("circle.alerts").count() == 1  # her consulate's alert only
        if path == "/console/dashboard":
            await screenshot(page, "dashboard")
            assert await page.inner_text("#open-alerts") == "1"
    assert hosts == {base}


async def test_a_csv_import_with_a_bad_row_changes_nothing(start, browser, tmp_path):
    client = await start("console")
    base = str(client.make_url("")).rstrip("/")
    await make_account(client, "olga@example.org", "officer", "houston")
    page = await browser.new_page()
    await log_in(page, base, "olga@example.org")
    await page.goto(f"{base}/console/roster")
    sheet = tmp_path / "roster.csv"
    sheet.write_text(
        "consulate,phone,from,until\n"
        "houston,+1 713 555 0180,2026-11-30T08:00,2026-11-30T20:00\n"
        "houston,+1 713 555 0181,30/11/2026,\n",
        encoding="utf-8",
    )
    await page.set_input_files("input[name=file]", str(sheet))
    await page.click("button:has-text('Importar')")
    await page.wait_for_selector(".problem")
    assert "row 3: --from: '30/11/2026' is not a time such as 2026-11-30T08:00" in await page.inner_text(".problem")
    assert "No hay guardias." in await page.inner_text("table")
    await screenshot(page, "roster-import-refused")
