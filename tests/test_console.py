"""The officials' console on the server: every route for every role, CSRF, lockout and throttling, sessions
that end when an account is blocked or its password changes, the second factor, and the audit chain."""

from __future__ import annotations

import re

import pyotp
import pytest

from gateway.console import ROUTES
from gateway.console.pages import permission_of
from handlers.backoffice import accounts as accounts_rules
from store import audit
from store.models import AuditEntry
from tests.conftest import in_store
from tests.console import PASSWORD, OtherBrowser, account_id, csrf, log_in, make_account, post_form
from tests.test_flows_ussd import dial

STAFF = {"admin", "supervisor", "officer"}
EVERYONE = STAFF | {"focal_point"}
PUBLIC = "public"
# Every console route and who may use it. A new route without a line here fails the test below.
EXPECTED = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/login/code"): PUBLIC,
    ("POST", "/login/code"): PUBLIC,
    ("GET", "/login/enrol"): PUBLIC,
    ("POST", "/login/enrol"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/account/password"): EVERYONE,
    ("POST", "/account/password"): EVERYONE,
    ("GET", "/"): STAFF,
    ("GET", "/alerts/rows"): STAFF,
    ("GET", "/alerts/{reference}"): STAFF,
    ("POST", "/alerts/{reference}/reveal"): STAFF,
    ("POST", "/alerts/{reference}/{verb}"): STAFF,
    ("GET", "/roster"): STAFF,
    ("POST", "/roster"): STAFF,
    ("POST", "/roster/{shift}/end"): STAFF,
    ("GET", "/bookings"): STAFF,
    ("POST", "/bookings/{consulate}/{reference}/cancel"): STAFF,
    ("GET", "/accounts"): {"admin"},
    ("POST", "/accounts"): {"admin"},
    ("POST", "/accounts/{account}/{what}"): {"admin"},
    ("POST", "/accounts/{account}/reset"): {"admin"},
    ("POST", "/accounts/{account}/role"): {"admin"},
    ("GET", "/audit"): {"admin", "supervisor"},
    ("GET", "/dashboard"): STAFF,
    ("GET", "/map"): STAFF,
    ("GET", "/alerts.csv"): STAFF,
    ("GET", "/roster.csv"): STAFF,
    ("POST", "/roster/import"): STAFF,
    ("GET", "/bookings.csv"): STAFF,
    ("GET", "/complaints"): {"focal_point"},
    ("GET", "/complaints/{reference}"): {"focal_point"},
    ("POST", "/complaints/{reference}/answer"): {"focal_point"},
    ("GET", "/feedback"): {"admin", "supervisor"},
    ("GET", "/feedback/{reference}"): {"admin", "supervisor"},
    ("POST", "/feedback/{reference}/answer"): {"admin", "supervisor"},
}
SAMPLE = {
    "{reference}": "ZZZZ",
    "{verb}": "note",
    "{shift}": "999",
    "{consulate}": "houston",
    "{account}": "999",
    "{what}": "block",
}
ACCOUNTS = {
    "admin": ("ada@example.org", None),
    "supervisor": ("sam@example.org", None),
    "officer": ("olga@example.org", "houston"),
    "focal_point": ("flor@example.org", None),
}


@pytest.fixture
async def browsers():
    """Other browsers on the running service, closed after the test."""
    made = []

    def open_one(client) -> OtherBrowser:
        made.append(OtherBrowser(client))
        return made[-1]

    yield open_one
    for browser in made:
        await browser.close()


def _pattern(route) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.path)


def test_every_route_has_a_rule():
    routes = {(r.method, _pattern(r)) for r in ROUTES}
    assert routes == set(EXPECTED), "a console route is missing from EXPECTED (or EXPECTED names a gone route)"
    assert all(permission_of(r.handler) for r in ROUTES), "a console view without @requires"


def _path(pattern: str) -> str:
    for name, value in SAMPLE.items():
        pattern = pattern.replace(name, value)
    return "/console" + pattern


@pytest.mark.parametrize("role", [None, *ACCOUNTS], ids=lambda r: r or "anonymous")
async def test_every_route_for_every_role(start, role):
    client = await start("console")
    if role is not None:
        email, consulate = ACCOUNTS[role]
        secret = await make_account(client, email, role, consulate)
        response = await log_in(client, email, secret)
        assert response.status == 200
    for (method, pattern), who in EXPECTED.items():
        if pattern == "/logout":
            continue  # would end the session under test; tested below
        path = _path(pattern)
        if method == "GET":
            response = await client.get(path, allow_redirects=False)
        else:
            token = (
                await csrf(client, "/console/login")
                if role is None
                else await csrf(client, "/console/account/password")
            )
            response = await client.post(path, data={"csrf_token": token}, allow_redirects=False)
        label = f"{role or 'anonymous'} {method} {path} → {response.status}"
        if who == PUBLIC:
            assert response.status != 403, label
        elif role is None and pattern == "/alerts/rows":
            assert response.status == 401, label  # the desk's poll: the page reloads to the login
        elif role is None:
            assert response.status == 303 and response.headers["Location"] == "/console/login", label
        elif role in who:
            assert response.status not in (401, 403) and response.headers.get("Location") != "/console/login", label
        else:
            assert response.status == 403, label


async def test_a_form_without_its_csrf_token_is_refused(start):
    client = await start("console")
    secret = await make_account(client, "ada@example.org", "admin")
    await log_in(client, "ada@example.org", secret)
    response = await client.post("/console/accounts", data={"email": "x@example.org", "role": "officer"})
    assert response.status == 400
    assert "venció" in await response.text()
    response = await client.post("/console/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert response.status == 400


async def test_five_wrong_passwords_lock_the_account_and_admins_see_it(start):
    client = await start("console")
    secret = await make_account(client, "ada@example.org", "admin")
    await make_account(client, "olga@example.org", "officer", "houston")
    for _ in range(5):
        response = await log_in(client, "olga@example.org", password="wrong password 123")
        assert response.status == 401
        assert "Correo o contraseña incorrectos." in await response.text()
    response = await log_in(client, "olga@example.org")  # the right password, too late
    assert response.status == 403
    assert "bloqueada temporalmente" in await response.text()
    await log_in(client, "ada@example.org", secret)
    page = await (await client.get("/console/accounts")).text()
    assert re.search(r"olga@example.org.*?bloqueo temporal.*?5 intentos fallidos", page, re.S)


async def test_many_failures_from_one_address_are_throttled(start):
    client = await start("console")
    for n in range(20):
        await log_in(client, f"nobody{n}@example.org")
    response = await log_in(client, "nobody@example.org")
    assert response.status == 429
    assert "Demasiados intentos" in await response.text()


async def test_a_blocked_account_is_thrown_out_mid_session(start, browsers):
    admin = await start("console")
    secret = await make_account(admin, "ada@example.org", "admin")
    await make_account(admin, "olga@example.org", "officer", "houston")
    await log_in(admin, "ada@example.org", secret)
    officer = browsers(admin)  # a second browser on the same service
    await log_in(officer, "olga@example.org")
    assert (await officer.get("/console/", allow_redirects=False)).status == 200
    target = await account_id(admin, "olga@example.org")
    response = await post_form(admin, "/console/accounts", f"/console/accounts/{target}/block")
    assert response.status == 200
    response = await officer.get("/console/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/console/login")
    assert (await log_in(officer, "olga@example.org")).status == 403


async def test_changing_the_password_ends_the_other_sessions(start, browsers):
    first = await start("console")
    await make_account(first, "olga@example.org", "officer", "houston")
    await log_in(first, "olga@example.org")
    second = browsers(first)
    await log_in(second, "olga@example.org")
    new = "a much longer new passphrase"
    response = await post_form(
        first, "/console/account/password", "/console/account/password", {"current": PASSWORD, "password": new}
    )
    assert "Contraseña cambiada" in await response.text()
    assert (await first.get("/console/", allow_redirects=False)).status == 200  # this one goes on
    response = await second.get("/console/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/console/login")
    assert (await log_in(second, "olga@example.org", password=new)).status == 200


async def test_a_reset_password_must_be_changed_at_login(start, browsers):
    admin = await start("console")
    secret = await make_account(admin, "ada@example.org", "admin")
    await make_account(admin, "olga@example.org", "officer", "houston")
    await log_in(admin, "ada@example.org", secret)
    target = await account_id(admin, "olga@example.org")
    page = await (await post_form(admin, "/console/accounts", f"/console/accounts/{target}/reset")).text()
    temporary = re.search(r"debe cambiarse al entrar\): (\S+)</p>", page).group(1)
    officer = browsers(admin)
    response = await log_in(officer, "olga@example.org", password=temporary)
    assert response.url.path == "/console/account/password"
    assert "Debe elegir una contraseña nueva" in await response.text()
    response = await officer.get("/console/roster", allow_redirects=False)
    assert response.headers["Location"] == "/console/account/password"


async def test_admins_need_the_second_factor(start):
    client = await start("console")
    secret = await make_account(client, "ada@example.org", "admin")
    token = await csrf(client, "/console/login")
    response = await client.post(
        "/console/login", data={"email": "ada@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.url.path == "/console/login/code"
    assert (await client.get("/console/", allow_redirects=False)).status == 303  # not in yet
    token = await csrf(client, "/console/login/code")
    response = await client.post("/console/login/code", data={"code": "000000", "csrf_token": token})
    assert response.status == 401
    token = await csrf(client, "/console/login/code")
    response = await client.post("/console/login/code", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert response.url.path == "/console/"


async def test_a_supervisor_without_a_second_factor_enrols_one_at_login(start):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    secret = await make_account(client, "ada@example.org", "admin")
    await log_in(client, "ada@example.org", secret)
    target = await account_id(client, "olga@example.org")
    await post_form(client, "/console/accounts", f"/console/accounts/{target}/role", {"role": "supervisor"})
    await post_form(client, "/console/", "/console/logout")
    token = await csrf(client, "/console/login")
    response = await client.post(
        "/console/login", data={"email": "olga@example.org", "password": PASSWORD, "csrf_token": token}
    )
    page = await response.text()
    assert response.url.path == "/console/login/enrol"
    uri = re.search(r'<code id="otpauth">([^<]+)</code>', page).group(1).replace("&amp;", "&")
    assert "<svg" in page and uri.startswith("otpauth://totp/Lifeline:olga%40example.org?secret=")
    code = pyotp.parse_uri(uri).now()
    token = await csrf(client, "/console/login/enrol")
    response = await client.post("/console/login/enrol", data={"code": code, "csrf_token": token})
    assert response.url.path == "/console/"


async def test_an_officer_acknowledges_from_the_desk_and_the_person_is_told(start, fake):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    await dial(client, ["1"], phone="+17135550142")  # a Houston number: the Houston consulate
    await log_in(client, "olga@example.org")
    desk = await (await client.get("/console/")).text()
    reference = re.search(r'/console/alerts/([A-Z0-9]{4})"', desk).group(1)
    assert "+1******0142" in desk and "+17135550142" not in desk  # masked until revealed
    response = await post_form(client, f"/console/alerts/{reference}", f"/console/alerts/{reference}/ack")
    assert "Hecho." in await response.text()
    sent = await in_store(client, lambda: [m for m in _outbox() if m.to == "+17135550142"])
    assert any("su consulado recibio su aviso" in m.body for m in sent)
    entries = await in_store(client, audit.entries)
    assert ("olga@example.org", "alert.ack", reference) in [(e.actor, e.action, e.target) for e in entries]


def _outbox():
    from store.models import OutboxMessage

    return list(OutboxMessage.select())


async def test_an_officer_sees_only_their_consulate(start):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "chicago")
    await dial(client, ["1"], phone="+17135550142")  # Houston's
    await log_in(client, "olga@example.org")
    desk = await (await client.get("/console/")).text()
    assert "No hay avisos abiertos." in desk
    reference = await in_store(client, lambda: __import__("store.models").models.Alert.get().reference)
    assert (await client.get(f"/console/alerts/{reference}")).status == 404


async def test_revealing_personal_data_needs_a_reason_and_is_audited(start):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    await dial(client, ["1"], phone="+17135550142")
    await log_in(client, "olga@example.org")
    reference = re.search(r'/console/alerts/([A-Z0-9]{4})"', await (await client.get("/console/")).text()).group(1)
    page = await (
        await post_form(
            client,
            f"/console/alerts/{reference}",
            f"/console/alerts/{reference}/reveal",
            {"reason": "llamar a la persona"},
        )
    ).text()
    assert "+17135550142" in page
    [entry] = [e for e in await in_store(client, audit.entries) if e.action == "personal.reveal"]
    assert (entry.actor, entry.target, entry.detail) == ("olga@example.org", reference, "llamar a la persona")


async def test_an_edited_audit_row_breaks_the_chain(start):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")
    await log_in(client, "olga@example.org", password="wrong password 1")
    checked, broken = await in_store(client, audit.verify)
    assert broken is None and checked >= 3
    second = await in_store(client, lambda: AuditEntry.select().order_by(AuditEntry.id).offset(1).first())
    await in_store(client, lambda: AuditEntry.update(actor="someone-else").where(AuditEntry.id == second.id).execute())
    assert await in_store(client, audit.verify) == (2, second.id)


async def test_audit_verify_command_detects_a_deleted_row(start, make_settings, capsys):
    import argparse

    import run

    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")
    await log_in(client, "olga@example.org")
    settings = make_settings("console")
    assert run.run_audit(settings, argparse.Namespace(action="verify")) == 0
    second = await in_store(client, lambda: AuditEntry.select().order_by(AuditEntry.id).offset(1).first())
    await in_store(client, lambda: AuditEntry.delete().where(AuditEntry.id == second.id).execute())
    assert run.run_audit(settings, argparse.Namespace(action="verify")) == 1
    assert "audit trail broken at entry" in capsys.readouterr().err


async def test_an_officer_sees_the_days_bookings_and_cancels_one(start, clock):
    from tests.test_appointments import MONDAY_MORNING, sent_to

    clock.advance(MONDAY_MORNING - clock())
    client = await start("console")
    await dial(client, ["4", "1", "1", "1", "1", "1", "1"], phone="+17135550142")  # passport, Mon 10:00, Houston, Agree
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")
    page = await (await client.get("/console/bookings?consulate=houston&date=2026-11-30")).text()
    reference = re.search(r"<td>([A-Z0-9]{4})</td><td>10:00</td><td>Pasaporte</td>", page).group(1)
    response = await post_form(
        client,
        "/console/bookings?consulate=houston&date=2026-11-30",
        f"/console/bookings/houston/{reference}/cancel?date=2026-11-30",
    )
    page = await response.text()
    assert "Hecho." in page and reference not in page  # the day's sheet lists active bookings
    told = await sent_to(client, "+17135550142")
    assert (
        told[-1]
        == f"Su cita {reference} en el Consulado en Houston fue cancelada por el consulado. Envie CITA para pedir otra."
    )
    other = await client.get("/console/bookings?consulate=chicago&date=2026-11-30")
    assert other.status == 404  # not her consulate


async def test_the_dashboard_counts_the_accounts_scope_and_shows_no_personal_data(start):
    client = await start("console")
    for n in range(3):
        await dial(client, ["1"], phone=f"+1713555{n:04d}")  # Houston
    await dial(client, ["1"], phone="+13125550150")  # Chicago
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")
    page = await (await client.get("/console/dashboard")).text()
    assert re.search(
        r'<strong id="open-alerts">3</strong> avisos abiertos · <strong id="unacknowledged">3</strong>', page
    )
    assert page.count("<rect") == 30 and "<title>3</title>" in page  # today's bar: 3 alerts
    assert "+1713" not in page and "0142" not in page


async def test_the_map_gathers_alerts_by_area_and_links_to_them(start):
    client = await start("console")
    for n in range(3):
        await dial(client, ["1"], phone=f"+1713555{n:04d}")  # Houston: drawn at the consulate's area
    await dial(client, ["1"], phone="+13125550150")  # Chicago
    await make_account(client, "sam@example.org", "supervisor")
    secret = await make_account(client, "ada@example.org", "admin")
    await log_in(client, "ada@example.org", secret)
    page = await (await client.get("/console/map")).text()
    assert page.count("<path") == 51 and 'class="consulate"' in page
    dots = re.findall(r'<a href="/console/\?refs=([A-Z0-9,]+)"><circle[^>]*><title>(\d+)</title>', page)
    assert sorted(int(n) for _, n in dots) == [1, 3]
    houston = next(refs for refs, n in dots if n == "3")
    desk = await (await client.get(f"/console/?refs={houston}")).text()
    assert len(re.findall(r'href="/console/alerts/[A-Z0-9]{4}"', desk)) == 3 and "+1******0150" not in desk
    assert "+1713" not in page  # no number on the map


async def test_exports_defuse_formulas_mask_people_and_are_audited(start):
    client = await start("console")
    from tests.test_flows_sms import Phone

    phone = Phone(client, "+17135550142")
    await phone.send("NOMBRE =HYPERLINK(1)")
    await phone.send("1")  # consent
    await dial(client, ["1"], phone="+17135550142")
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")
    response = await client.get("/console/alerts.csv?status=open&bom=1")
    body = await response.read()
    assert response.headers["Content-Type"].startswith("text/csv") and body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0] == "reference,status,consulate,created_utc,acknowledged_utc,closed_utc,phone"
    assert "+1******0142" in text and "+17135550142" not in text
    roster = await post_form(
        client, "/console/roster", "/console/roster", {"consulate": "houston", "phone": "+1 713 555 0180"}
    )
    assert roster.status == 200
    text = await (await client.get("/console/roster.csv")).text()
    assert "\nhouston,'+17135550180," in text  # a leading + would run as a formula: defused
    actions = [e.action for e in await in_store(client, audit.entries)]
    assert "export.alerts" in actions and "export.roster" in actions


async def test_a_roster_import_with_a_bad_row_imports_nothing_and_names_the_row(start):
    import aiohttp

    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")

    async def upload(csv_text: str):
        token = await csrf(client, "/console/roster")
        form = aiohttp.FormData()
        form.add_field("csrf_token", token)
        form.add_field("file", csv_text.encode("utf-8"), filename="roster.csv", content_type="text/csv")
        return await client.post("/console/roster/import", data=form)

    bad = (
        "consulate,phone,from,until\n"
        "houston,+1 713 555 0180,2026-11-30T08:00,2026-11-30T20:00\n"
        "houston,not a phone,2026-11-30T08:00,\n"
        "houston,+1 713 555 0181,someday,\n"
    )
    response = await upload(bad)
    page = await response.text()
    assert response.status == 400
    assert "row 3: roster add: needs --consulate ID and --phone +1..." in page and "row 4: --from" in page
    assert "No hay guardias." in page  # the good row was not kept either
    good = "\ufeffconsulate,phone,from,until\nHouston,+1 713 555 0180,2026-11-30T08:00,2026-11-30T20:00\n"
    response = await upload(good)
    assert "Hecho." in await response.text() and "+17135550180" in await response.text()


async def test_a_confidential_complaint_reaches_only_the_focal_point(start):
    from tests.test_appointments import sent_to
    from tests.test_flows_sms import Phone

    client = await start("console")
    person = Phone(client, "+17135550142")
    received = await person.send("QUEJA El guardia Ramirez me pidio dinero")
    reference = re.search(r"queja (Q[A-Z0-9]{4})\.", received).group(1)
    assert await person.send(f"QUEJA {reference} fue el martes") == f"Agregamos su mensaje a {reference}."
    flor = await make_account(client, "flor@example.org", "focal_point")
    secret = await make_account(client, "ada@example.org", "admin")
    await log_in(client, "flor@example.org", flor)
    page = await (await client.get(f"/console/complaints/{reference}")).text()
    assert "El guardia Ramirez me pidio dinero" in page and "fue el martes" in page
    await post_form(
        client,
        f"/console/complaints/{reference}",
        f"/console/complaints/{reference}/answer",
        {"text": "Gracias, lo estamos revisando."},
    )
    assert (await sent_to(client, "+17135550142"))[-1] == f"Lifeline {reference}: Gracias, lo estamos revisando."
    await post_form(client, "/console/complaints", "/console/logout")

    # An administrator: not by page, not by API, not by export, not in the audit trail, not in the database.
    await log_in(client, "ada@example.org", secret)
    for path in ("/console/complaints", f"/console/complaints/{reference}", f"/console/feedback/{reference}"):
        response = await client.get(path, allow_redirects=False)
        assert response.status in (403, 404) and "Ramirez" not in await response.text(), path
    for path in ("/console/alerts.csv", "/console/roster.csv", "/console/audit", "/console/dashboard"):
        assert "Ramirez" not in await (await client.get(path)).text(), path
    token = await in_store(client, accounts_rules.new_api_token, "ada@example.org", "test", 0.0)
    for path in ("/api/v1/complaints", f"/api/v1/complaints/{reference}", "/api/v1/alerts"):
        response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status in (200, 404) and "Ramirez" not in await response.text(), path
    from store.db import database

    stored = await in_store(client, lambda: database.execute_sql("SELECT text FROM complaint_message").fetchall())
    assert stored and all("Ramirez" not in str(row) for row in stored)  # encrypted at rest


async def test_the_roster_page_refuses_what_run_py_roster_refuses(start):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    await log_in(client, "olga@example.org")
    shift = {
        "consulate": "houston",
        "phone": "+1 713 555 0180",
        "starts": "2026-11-30T08:00",
        "ends": "2026-11-30T20:00",
    }
    assert (await post_form(client, "/console/roster", "/console/roster", shift)).status == 200
    again = {**shift, "starts": "2026-11-30T19:00", "ends": "2026-11-30T23:00"}
    response = await post_form(client, "/console/roster", "/console/roster", again)
    assert response.status == 400
    assert "that phone is already on duty for houston" in await response.text()
