"""Closed by default: a carrier's callbacks answer only where the deployment uses that carrier, `serve`
refuses callbacks open to forgery (naming the variable), and /metrics is for a token or local clients."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import pytest

from gateway.app import create_app
from gateway.settings import Settings, SettingsError
from store.models import Alert, InboundMessage, OutboxMessage
from tests import payloads
from tests.conftest import ROOT, in_store
from tests.test_alerts import HOUSTON, HOUSTON_PERSON

PUBLIC = "https://lifeline.example.org"
AT_ROUTES = ["/africastalking/ussd", "/africastalking/ussd/events", "/africastalking/sms", "/africastalking/delivery"]
BASE = {"LIFELINE_CONFIG": str(ROOT / "config"), "LIFELINE_MENUS": str(ROOT / "menus")}
AT_REAL = {"AT_USERNAME": "lifeline-ngo", "AT_API_KEY": "k"}
TWILIO = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+15555550100"}


async def twilio_sms(client, fake, phone: str, text: str) -> None:
    form = payloads.twilio_sms(phone, text)
    headers = payloads.twilio_signature(fake.twilio_token, PUBLIC + "/twilio/sms", form)
    assert (await client.post("/twilio/sms", data=form, headers=headers)).status == 200


async def test_a_forged_duty_reply_through_an_unused_carrier_reaches_nobody(start, fake):
    # Twilio only: nobody registered the Africa's Talking callbacks, so nobody may post to them.
    client = await start("twilio", AT_USERNAME="", AT_API_KEY="", PUBLIC_URL=PUBLIC)
    await twilio_sms(client, fake, HOUSTON_PERSON, "ALERTA")
    [alert] = await in_store(client, lambda: list(Alert.select()))
    before = await in_store(client, OutboxMessage.select().count)
    duty_phone = HOUSTON.duty_phones[0]
    for text in (f"R {alert.reference} Vaya sola a la frontera", f"CERRAR {alert.reference}"):
        forged = payloads.at_sms(duty_phone, text)
        assert (await client.post("/africastalking/sms", data=forged)).status == 404
    assert await in_store(client, OutboxMessage.select().count) == before  # nothing relayed to the person
    [alert] = await in_store(client, lambda: list(Alert.select()))
    assert alert.status == "open"


WHERE = [
    # label, SMS_PROVIDERS, AT_USERNAME, Africa's Talking callbacks mounted
    ("Twilio only", "twilio", "", False),
    ("Africa's Talking sends", "africastalking", "sandbox-user", True),
    ("Twilio sends, Africa's Talking carries USSD", "twilio", "sandbox-user", True),
    ("a console-only trial", "console", "", True),
]


@pytest.mark.parametrize("route", AT_ROUTES)
@pytest.mark.parametrize("label,providers,username,mounted", WHERE, ids=[w[0] for w in WHERE])
async def test_africastalking_callbacks_answer_only_where_it_is_configured(
    start, route, label, providers, username, mounted
):
    client = await start(providers, AT_USERNAME=username, AT_API_KEY=username and None, PUBLIC_URL=PUBLIC)
    response = await client.post(route, data=payloads.at_sms(HOUSTON_PERSON, "hola"))
    assert (response.status != 404) is mounted, await response.text()
    if not mounted:
        assert await in_store(client, InboundMessage.select().count) == 0


# label, environment, the variable `serve` names (None: starts)
DEPLOYMENTS = [
    ("real Africa's Talking account, no token", {"SMS_PROVIDERS": "africastalking", **AT_REAL}, "AT_CALLBACK_TOKEN"),
    (
        "real account for USSD only, no token",
        {"SMS_PROVIDERS": "twilio", "PUBLIC_URL": PUBLIC, **TWILIO, **AT_REAL},
        "AT_CALLBACK_TOKEN",
    ),
    (
        "real account with a token",
        {"SMS_PROVIDERS": "africastalking", "AT_CALLBACK_TOKEN": "t" * 32, **AT_REAL},
        None,
    ),
    (
        "Africa's Talking sandbox",
        {"SMS_PROVIDERS": "africastalking", "AT_USERNAME": "sandbox", "AT_API_KEY": "k"},
        None,
    ),
    ("Twilio without PUBLIC_URL", {"SMS_PROVIDERS": "twilio", **TWILIO}, "PUBLIC_URL"),
    ("Twilio with PUBLIC_URL", {"SMS_PROVIDERS": "twilio", "PUBLIC_URL": PUBLIC, **TWILIO}, None),
    ("console only", {}, None),
]


@pytest.mark.parametrize("label,env,variable", DEPLOYMENTS, ids=[d[0] for d in DEPLOYMENTS])
def test_unguarded_callbacks_are_refused_naming_the_variable(label, env, variable):
    settings = Settings.from_env({**BASE, **env})
    if variable is None:
        assert settings.check_callbacks() == []
        return
    with pytest.raises(SettingsError) as refused:
        settings.check_callbacks()
    assert refused.value.variable == variable
    assert str(refused.value).startswith(f"{variable}: is required")


def test_the_override_turns_each_refusal_into_a_warning():
    env = {**BASE, "SMS_PROVIDERS": "africastalking,twilio", **AT_REAL, **TWILIO}
    warnings = Settings.from_env({**env, "LIFELINE_ALLOW_INSECURE_CALLBACKS": "1"}).check_callbacks()
    assert [w.split()[0] for w in warnings] == ["AT_CALLBACK_TOKEN", "PUBLIC_URL"]
    assert all("LIFELINE_ALLOW_INSECURE_CALLBACKS=1" in w for w in warnings)
    [unused] = Settings.from_env({**BASE, "LIFELINE_ALLOW_INSECURE_CALLBACKS": "1"}).check_callbacks()
    assert "changes nothing" in unused


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_the_override_is_1_or_nothing(value):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**BASE, "LIFELINE_ALLOW_INSECURE_CALLBACKS": value})
    assert refused.value.variable == "LIFELINE_ALLOW_INSECURE_CALLBACKS"


def serve(tmp_path, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", "0"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LIFELINE_SECRET_KEY": "k" * 40, **BASE, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "label,env,variable", [d for d in DEPLOYMENTS if d[2]], ids=[d[0] for d in DEPLOYMENTS if d[2]]
)
def test_serve_refuses_an_unsafe_deployment_in_one_line(tmp_path, label, env, variable):
    result = serve(tmp_path, env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"lifeline: {variable}: is required")


async def test_serve_with_the_override_starts_and_warns(tmp_path, aiohttp_client):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LIFELINE_SECRET_KEY": "k" * 40,
        "SMS_PROVIDERS": "africastalking",
        "LIFELINE_ALLOW_INSECURE_CALLBACKS": "1",
        **BASE,
        **AT_REAL,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run.py"),
        "serve",
        "--port",
        "0",
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    lines = []
    try:
        async with asyncio.timeout(60):
            while not any("Running on" in line for line in lines):
                line = (await process.stderr.readline()).decode()
                assert line, f"serve ended: {lines}"
                lines.append(line)
    finally:
        process.terminate()
        await process.wait()
    [warning] = [line for line in lines if " WARNING " in line]
    assert "AT_CALLBACK_TOKEN is required" in warning and "LIFELINE_ALLOW_INSECURE_CALLBACKS=1" in warning


# -- /metrics ---------------------------------------------------------------------------------------

TOKEN = "m" * 32

METRICS = [
    # label, METRICS_TOKEN, request headers, status
    ("local client, no token configured", None, {}, 200),
    ("through a proxy, no token configured", None, {"X-Forwarded-For": "198.51.100.7"}, 403),
    ("through a proxy (Forwarded), no token configured", None, {"Forwarded": "for=198.51.100.7"}, 403),
    ("token configured, none given", TOKEN, {}, 401),
    ("token configured, wrong one", TOKEN, {"Authorization": "Bearer " + "x" * 32}, 401),
    ("token configured, given as Basic", TOKEN, {"Authorization": "Basic " + TOKEN}, 401),
    ("token configured and given", TOKEN, {"Authorization": "Bearer " + TOKEN}, 200),
    ("token given through a proxy", TOKEN, {"Authorization": "Bearer " + TOKEN, "X-Forwarded-For": "1.2.3.4"}, 200),
]


@pytest.mark.parametrize("label,token,headers,status", METRICS, ids=[m[0] for m in METRICS])
async def test_metrics_need_a_token_or_a_local_client(start, label, token, headers, status):
    client = await start("console", METRICS_TOKEN=token)
    response = await client.get("/metrics", headers=headers)
    body = await response.text()
    assert response.status == status, body
    assert ("lifeline_outbox_backlog" in body) is (status == 200)
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def non_loopback_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_metrics_refuse_a_remote_client_without_a_token(aiohttp_client, make_settings, clock):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    app = create_app(make_settings("console"), clock=clock)
    client = await aiohttp_client(app, server_kwargs={"host": address})
    response = await client.get("/metrics")
    assert response.status == 403
    assert "METRICS_TOKEN" in await response.text()
    assert (await client.get("/healthz")).status == 200  # the same client, served elsewhere


def test_a_short_metrics_token_is_refused():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**BASE, "METRICS_TOKEN": "short"})
    assert refused.value.variable == "METRICS_TOKEN"
