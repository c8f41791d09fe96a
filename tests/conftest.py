"""Shared fixtures: a fresh database per test (SQLite by default, PostgreSQL with DATABASE_URL),
a fake carrier on loopback, and the app built from real settings."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import peewee
import pytest
import yaml

from gateway import keys
from gateway.app import create_app
from gateway.settings import Settings
from store.db import database, open_database
from store.models import MODELS, SchemaVersion
from tests.fake_carrier import FakeCarrier

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-that-is-long-enough-0123456789"
TWILIO_FROM = "+15555550100"
PERSON = "+15555550142"
OTHER_PERSON = "+15555550143"

# Fast, bounded retries so integration tests finish in moments; the backoff maths itself is
# tested on plan_retry with fixed times.
TEST_OUTBOX_POLICY = {
    "max_attempts": 4,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "lease_seconds": 3,
    "send_timeout_seconds": 1,
}


class Clock:
    """Real time plus an offset the tests move: short retries still fall due by themselves, and a
    test jumps ahead to expire a lease without sleeping."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def database_url(tmp_path) -> str:
    """The test database, emptied: PostgreSQL when DATABASE_URL says so, else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'lifeline.db'}"
    db = open_database(url)
    db.drop_tables(MODELS + [SchemaVersion], safe=True, cascade=True)
    db.close()
    return url


@pytest.fixture
def config_dir(tmp_path) -> Path:
    """A copy of the shipped config with the test outbox policy."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    policy = yaml.safe_load((target / "policy.yaml").read_text())
    policy["outbox"].update(TEST_OUTBOX_POLICY)
    (target / "policy.yaml").write_text(yaml.safe_dump(policy))
    return target


@pytest.fixture
async def fake():
    async with FakeCarrier() as carrier:
        yield carrier


@pytest.fixture
def make_settings(database_url, config_dir, fake, tmp_path, monkeypatch):
    """Settings as an operator would write them, pointed at the fake carrier."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    def build(providers: str = "africastalking,twilio", **overrides) -> Settings:
        env = {
            "DATABASE_URL": database_url,
            "LIFELINE_CONFIG": str(config_dir),
            "LIFELINE_MENUS": str(ROOT / "menus"),
            "LIFELINE_SECRET_KEY": SECRET,
            "SMS_PROVIDERS": providers,
            "AT_USERNAME": fake.at_username,
            "AT_API_KEY": fake.at_api_key,
            "AT_API_URL": fake.url,
            "TWILIO_ACCOUNT_SID": fake.twilio_sid,
            "TWILIO_AUTH_TOKEN": fake.twilio_token,
            "TWILIO_FROM": TWILIO_FROM,
            "TWILIO_API_URL": fake.url,
            "LIFELINE_KEY_FILE": str(tmp_path / "lifeline.key"),
        }
        env.update({k: v for k, v in overrides.items() if v is not None})
        return Settings.from_env(env)

    return build


def set_outbox_policy(config_dir, **values) -> None:
    """Outbox settings for one test, on top of the suite's (base 0.01 s, max 0.05 s, 4 attempts)."""
    path = config_dir / "policy.yaml"
    policy = yaml.safe_load(path.read_text())
    policy["outbox"].update(values)
    path.write_text(yaml.safe_dump(policy))


async def in_store(client, fn, *args):
    """Runs a store query in the service's own transaction runner."""
    return await client.app[keys.STORE].run(fn, *args)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def start(aiohttp_client, make_settings, clock):
    """Starts the service and returns a test client; app state is at client.app."""

    async def started(providers: str = "africastalking,twilio", **overrides):
        return await aiohttp_client(create_app(make_settings(providers, **overrides), clock=clock))

    return started


@pytest.fixture
def shared_service(start):
    """One console service for all hypothesis examples of a test (starting one per example is slow)."""
    started = {}

    async def client():
        if "client" not in started:
            started["client"] = await start("console")
        return started["client"]

    return client


@pytest.fixture(autouse=True)
def _close_database():
    yield
    if database.obj is not None and not database.is_closed():
        try:
            database.close()
        except peewee.OperationalError:
            pass
