"""Settings: fixed names, and one clear line naming the variable when one is wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.settings import Settings, SettingsError
from tests.conftest import ROOT

BASE = {"LIFELINE_CONFIG": str(ROOT / "config"), "LIFELINE_MENUS": str(ROOT / "menus")}

BAD = [
    ("DATABASE_URL", {"DATABASE_URL": "mysql://x"}),
    ("LIFELINE_CONFIG", {"LIFELINE_CONFIG": "/nonexistent"}),
    ("LIFELINE_MENUS", {"LIFELINE_MENUS": "/nonexistent"}),
    ("LIFELINE_SECRET_KEY", {"LIFELINE_SECRET_KEY": "short"}),
    ("SMS_PROVIDERS", {"SMS_PROVIDERS": "pigeon"}),
    ("SMS_PROVIDERS", {"SMS_PROVIDERS": "console,console"}),
    ("AT_USERNAME", {"SMS_PROVIDERS": "africastalking", "AT_API_KEY": "k"}),
    ("AT_API_KEY", {"SMS_PROVIDERS": "africastalking", "AT_USERNAME": "u"}),
    ("TWILIO_FROM", {"SMS_PROVIDERS": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}),
    ("AT_API_URL", {"AT_API_URL": "ftp://example.org"}),
    ("TWILIO_API_URL", {"TWILIO_API_URL": "not a url"}),
    ("PUBLIC_URL", {"PUBLIC_URL": "lifeline.example.org"}),
]


@pytest.mark.parametrize("variable,env", BAD, ids=[f"{v}={list(e.values())[0]}" for v, e in BAD])
def test_invalid_setting_names_the_variable(variable, env):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, **env})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(variable)


def test_defaults_are_the_embedded_ones():
    settings = Settings.from_env(BASE)
    assert settings.database_url == "sqlite:///lifeline.db"
    assert settings.sms_providers == ("console",)
    assert settings.at_api_url == "https://api.africastalking.com"
    assert settings.twilio_api_url == "https://api.twilio.com"


def test_provider_order_is_kept_for_failover():
    settings = Settings.from_env(
        {
            **BASE,
            "SMS_PROVIDERS": " Twilio , africastalking",
            "AT_USERNAME": "u",
            "AT_API_KEY": "k",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM": "+15555550100",
        }
    )
    assert settings.sms_providers == ("twilio", "africastalking")


def test_serve_refuses_to_start_with_one_line_naming_the_variable(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", "0"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "SMS_PROVIDERS": "pigeon", **BASE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SMS_PROVIDERS" in lines[0]


def test_every_setting_is_documented_in_env_example():
    documented = (ROOT / ".env.example").read_text()
    for name in (
        "DATABASE_URL",
        "LIFELINE_CONFIG",
        "LIFELINE_MENUS",
        "LIFELINE_SECRET_KEY",
        "LIFELINE_KEY_FILE",
        "LIFELINE_NEW_SECRET_KEY",
        "SMS_PROVIDERS",
        "AT_USERNAME",
        "AT_API_KEY",
        "AT_SENDER_ID",
        "AT_API_URL",
        "AT_CALLBACK_TOKEN",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_API_URL",
        "PUBLIC_URL",
        "LIFELINE_ALLOW_INSECURE_CALLBACKS",
        "METRICS_TOKEN",
    ):
        assert f"{name}=" in documented, name


def test_secrets_never_show_in_the_settings_repr():
    settings = Settings.from_env(
        {
            **BASE,
            "LIFELINE_SECRET_KEY": "s" * 40,
            "SMS_PROVIDERS": "twilio",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "tok-123456",
            "TWILIO_FROM": "+15555550100",
            "AT_API_KEY": "atk-123456",
            "AT_CALLBACK_TOKEN": "cb-123456",
            "METRICS_TOKEN": "metrics-token-123456",
        }
    )
    shown = repr(settings)
    for secret in ("s" * 40, "tok-123456", "atk-123456", "cb-123456", "metrics-token-123456"):
        assert secret not in shown


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:9/nowhere", "sqlite:////nonexistent-dir/lifeline.db"])
def test_serve_with_an_unreachable_database_says_so_in_one_line(tmp_path, url):
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", "0"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "LIFELINE_SECRET_KEY": "k" * 40, **BASE},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lifeline: DATABASE_URL: "), result.stderr
