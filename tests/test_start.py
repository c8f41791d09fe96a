"""How `run.py` starts: the cycle collector paused while start-up imports and builds, then serve's start-up
frozen and the collector back on; every other command runs with it on."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from aiohttp import web

import run
from tests.conftest import ROOT, SECRET


@pytest.fixture
def environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the repository's
    for name, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'start.db'}",
        "LIFELINE_CONFIG": str(ROOT / "config"),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "LIFELINE_SECRET_KEY": SECRET,
        "SMS_PROVIDERS": "console",
    }.items():
        monkeypatch.setenv(name, value)


def test_serve_runs_with_the_collector_on_and_start_up_frozen(environment, monkeypatch):
    seen = {}

    def run_app(app, **options):
        seen.update(collecting=gc.isenabled(), frozen=gc.get_freeze_count())

    monkeypatch.setattr(web, "run_app", run_app)
    try:
        assert run.main(["serve", "--port", "0"]) == 0
    finally:
        gc.unfreeze()  # this test process goes on building apps: let them be collected
    assert seen["collecting"]
    assert seen["frozen"] > 100_000  # the imported modules and the app, among the test run's own objects
    assert gc.isenabled()


@pytest.mark.parametrize("command", ["check", "purge"])
def test_other_commands_run_with_the_collector_on(environment, monkeypatch, command):
    seen = []
    monkeypatch.setattr(run, f"run_{command}", lambda settings, args: seen.append(gc.isenabled()) or 0)
    assert run.main([command]) == 0
    assert seen == [True]
    assert gc.get_freeze_count() == 0


def test_a_refused_start_leaves_the_collector_on(environment, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDERS", "pigeon")
    assert run.main(["serve", "--port", "0"]) == 2
    assert gc.isenabled()


def test_the_service_starts_without_the_geocoder_or_a_places_build(tmp_path):
    # The places index comes from its file (the test session has it: built now if it was missing) and a
    # number's state from the generated table: neither the geocoder's 99 MB nor zipcodes' rows are loaded.
    from handlers.reference import places

    places.warm()
    code = (
        "import sys, zipcodes\n"
        "from gateway.app import create_app\n"
        "from gateway.settings import Settings\n"
        f"create_app(Settings.from_env({{'LIFELINE_CONFIG': {str(ROOT / 'config')!r}, "
        f"'LIFELINE_MENUS': {str(ROOT / 'menus')!r}}}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('phonenumbers.geo')), zipcodes._zips_cache)\n"
    )
    started = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert started.stdout.split() == ["[]", "None"]


def test_a_service_sending_through_the_console_loads_no_carrier_sdk(tmp_path):
    # It takes both carriers' webhooks (signatures checked), but sends nothing through them: their SDKs and
    # requests, some 40 ms of every start, stay unloaded until a sender is built (the outbox tests build them).
    code = (
        "import sys\n"
        "from gateway.app import create_app\n"
        "from gateway.settings import Settings\n"
        f"settings = Settings.from_env({{'LIFELINE_CONFIG': {str(ROOT / 'config')!r}, "
        f"'LIFELINE_MENUS': {str(ROOT / 'menus')!r}, 'SMS_PROVIDERS': 'console', 'AT_USERNAME': 'sandbox', "
        "'TWILIO_AUTH_TOKEN': 'token', 'PUBLIC_URL': 'http://127.0.0.1:1'})\n"
        "app = create_app(settings)\n"
        "print(sorted(r.resource.canonical for r in app.router.routes() if '/twilio/' in r.resource.canonical\n"
        "             or '/africastalking/sms' in r.resource.canonical))\n"
        "print(sorted(m for m in ('twilio.rest', 'africastalking', 'requests', 'urllib3') if m in sys.modules))\n"
    )
    started = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    routes, loaded = started.stdout.splitlines()
    assert routes == "['/africastalking/sms', '/twilio/sms', '/twilio/status']"
    assert loaded == "[]"
