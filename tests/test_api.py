"""/api/v1/ for a ministry's systems: bearer tokens, the pages' role scopes, cursor pagination, actions with the
SMS's effects, a rate limit, audited reads, and a schema-driven test (schemathesis) of every operation
against the served OpenAPI document: no 5xx, every answer as documented."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading

import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.settings import Settings
from handlers.backoffice import accounts
from store import audit
from tests import payloads
from tests.conftest import ROOT, SECRET, in_store
from tests.console import make_account
from tests.test_flows_ussd import dial

HOUSTON_PERSON = "+17135550142"


async def token_for(client, email: str) -> dict:
    token = await in_store(client, accounts.new_api_token, email, "test", 0.0)
    return {"Authorization": f"Bearer {token}"}


async def test_alerts_list_page_by_cursor_within_the_accounts_scope(start):
    client = await start("console")
    for n in range(5):
        await dial(client, ["1"], phone=f"+1713555{n:04d}")  # Houston numbers
    await dial(client, ["1"], phone="+13125550150")  # Chicago
    await make_account(client, "olga@example.org", "officer", "houston")
    headers = await token_for(client, "olga@example.org")
    first = await (await client.get("/api/v1/alerts?limit=3", headers=headers)).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = await (await client.get(f"/api/v1/alerts?limit=3&cursor={first['next_cursor']}", headers=headers)).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    every = first["items"] + second["items"]
    assert {a["consulate"] for a in every} == {"houston"}  # Chicago's is not hers
    assert len({a["reference"] for a in every}) == 5
    assert all(re.fullmatch(r"\+1\*{6}\d{4}", a["person_phone_masked"]) for a in every)
    response = await client.get("/api/v1/alerts?consulate=chicago", headers=headers)
    assert response.status == 403


async def test_acknowledging_by_api_tells_the_person_and_is_audited(start):
    client = await start("console")
    await dial(client, ["1"], phone=HOUSTON_PERSON)
    await make_account(client, "olga@example.org", "officer", "houston")
    headers = await token_for(client, "olga@example.org")
    [alert] = (await (await client.get("/api/v1/alerts", headers=headers)).json())["items"]
    response = await client.post(f"/api/v1/alerts/{alert['reference']}/ack", headers=headers)
    assert (response.status, await response.json()) == (200, {"reference": alert["reference"], "outcome": "done"})
    detail = await (await client.get(f"/api/v1/alerts/{alert['reference']}", headers=headers)).json()
    assert detail["acknowledged_at"] and [e["kind"] for e in detail["timeline"]][0] == "raised"
    from tests.test_appointments import sent_to

    assert any("su consulado recibio su aviso" in body for body in await sent_to(client, HOUSTON_PERSON))
    actions = [(e.actor, e.action) for e in await in_store(client, audit.entries)]
    assert ("olga@example.org", "alert.ack") in actions and ("olga@example.org", "api.alert") in actions


async def test_no_token_a_wrong_token_and_a_blocked_account_are_refused(start):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    headers = await token_for(client, "olga@example.org")
    assert (await client.get("/api/v1/alerts")).status == 401
    assert (await client.get("/api/v1/alerts", headers={"Authorization": "Bearer llt_nope"})).status == 401
    assert (await client.get("/api/v1/alerts", headers=headers)).status == 200
    official = await in_store(client, lambda: __import__("store.accounts").accounts.by_email("olga@example.org"))
    await in_store(client, lambda: __import__("store.accounts").accounts.set_blocked(official.id, True, 0.0))
    response = await client.get("/api/v1/alerts", headers=headers)
    assert response.status == 401 and (await response.json()) == {"error": "unknown, revoked or blocked token"}


async def test_a_focal_point_cannot_read_alerts(start):
    client = await start("console")
    await make_account(client, "flor@example.org", "focal_point")
    headers = await token_for(client, "flor@example.org")
    for path in ("/api/v1/alerts", "/api/v1/alerts/ZZZZ", "/api/v1/roster", "/api/v1/consulates"):
        assert (await client.get(path, headers=headers)).status == 403, path


async def test_the_rate_limit_answers_429_with_retry_after(start, clock):
    client = await start("console")
    await make_account(client, "olga@example.org", "officer", "houston")
    headers = await token_for(client, "olga@example.org")
    five_seconds_into_a_minute(clock)
    statuses = [(await client.get("/api/v1/consulates", headers=headers)).status for _ in range(125)]
    assert statuses == [200] * 120 + [429] * 5
    response = await client.get("/api/v1/consulates", headers=headers)
    retry = int(response.headers["Retry-After"])  # the rest of the minute
    assert 40 <= retry <= 55
    clock.advance(retry + 1)
    assert (await client.get("/api/v1/consulates", headers=headers)).status == 200


def five_seconds_into_a_minute(clock) -> None:
    """The service's clock set so that a test's requests all fall in one counting minute."""
    now = clock()
    clock.advance((now // 60 + 1) * 60 + 5 - now)


async def test_two_server_processes_share_one_rate_limit(start, clock):
    """Each process answering its own 120 a minute would let a leaked token read twice as fast per process."""
    first, second = await start("console"), await start("console")
    await make_account(first, "olga@example.org", "officer", "houston")
    headers = await token_for(first, "olga@example.org")
    five_seconds_into_a_minute(clock)
    statuses = []
    for _ in range(70):
        for client in (first, second):
            statuses.append((await client.get("/api/v1/consulates", headers=headers)).status)
    assert statuses.count(200) == 120 and statuses[-20:] == [429] * 20


# -- schema-driven ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def running_api(tmp_path_factory):
    """A real server on loopback in a thread (schemathesis calls it over HTTP), with alerts and a token."""
    import os

    work = tmp_path_factory.mktemp("api")
    config = work / "config"
    shutil.copytree(ROOT / "config", config)
    url = os.environ.get("DATABASE_URL")
    if url and not url.startswith("sqlite"):
        from store.db import open_database
        from store.models import MODELS, SchemaVersion

        db = open_database(url)
        db.drop_tables(MODELS + [SchemaVersion], safe=True, cascade=True)
        db.close()
    else:
        url = f"sqlite:///{work / 'api.db'}"
    settings = Settings.from_env(
        {
            "DATABASE_URL": url,
            "LIFELINE_CONFIG": str(config),
            "LIFELINE_MENUS": str(ROOT / "menus"),
            "LIFELINE_SECRET_KEY": SECRET,
            "SMS_PROVIDERS": "console",
            "LIFELINE_KEY_FILE": str(work / "k"),
        }
    )
    loop = asyncio.new_event_loop()
    app = create_app(settings)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for n in range(3):
        for text in ("", "1"):
            requests.post(
                f"{base}/africastalking/ussd",
                data=payloads.at_ussd(f"+1713555{n:04d}", text, session=f"s{n}"),
                timeout=10,
            )

    def seed():
        from handlers.reference.consulates import Directory

        directory = Directory.load(config / "consulates.yaml")
        accounts.create(directory, "sam@example.org", "supervisor", None, "correct horse battery staple", "test", 0.0)
        return accounts.new_api_token("sam@example.org", "test", 0.0)

    from gateway import keys

    token = asyncio.run_coroutine_threadsafe(app[keys.STORE].run(seed), loop).result(timeout=30)
    yield base, token
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def test_every_operation_matches_its_schema_and_never_fails(running_api):
    """Generated requests for every operation (valid ones and edge cases), sent over HTTP with a supervisor's
    token: never a 5xx, and every answer's status, content type and body as the document says."""
    base, token = running_api
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    for operation in operations:

        @hypothesis.settings(
            max_examples=40,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(
                base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, checks=checks
            )

        check()
