"""The aiohttp application: every resource opened and closed in one cleanup context."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from gateway import keys
from gateway.console import console_app, is_https
from gateway.console.api import api_app
from gateway.console.pages import STATE as CONSOLE_STATE
from gateway.conversation import Conversation
from gateway.engine.check import Report, check
from gateway.engine.engine import Engine
from gateway.engine.reading import Reading
from gateway.keyfile import unlock
from gateway.metrics import Metrics
from gateway.outbox.dispatcher import Dispatcher
from gateway.outbox.senders import build_senders
from gateway.policy import PrivacyPolicy, load_policy
from gateway.settings import Settings
from gateway.web import add_routes, edge, unreadable_requests_echo_nothing
from handlers.backoffice import retention
from handlers.reference.consulates import Directory
from handlers.reference.numbers import read_number
from handlers.reference.places import warm as warm_places
from handlers.reference.services import load_services
from handlers.reference.text import fold
from handlers.reference.vocabulary import Vocabulary
from handlers.registry import HANDLER_NAMES, POLICY_SECTIONS, build_features
from store import accounts, sessions
from store.db import DatabaseUnavailable, Store, database, is_open_at, open_database

log = logging.getLogger("lifeline.app")

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

# A console session unused this long is over.
CONSOLE_IDLE_SECONDS = 30 * 60

# Twilio caps a Body at 1,600 characters; every real webhook fits well inside this.
MAX_BODY_BYTES = 64 * 1024


class CheckFailed(ValueError):
    """The menus, keywords or templates have errors: the service refuses to start on them."""


# How the engine reads what people type: Lifeline's one folding rule and its phone number reader.
READING = Reading(fold=fold, read_number=read_number)


def check_menus(menus_dir: Path, default_language: str) -> Report:
    """`run.py check`: the menus, keywords and templates against the handlers that exist."""
    return check(menus_dir, TEMPLATES_DIR, default_language, HANDLER_NAMES, READING.fold)


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> web.Application:
    """The service, ready for web.run_app or a test client; files are read here, connections at start-up."""
    policy = load_policy(settings.config_dir, POLICY_SECTIONS)
    report = check_menus(settings.menus_dir, policy.default_language)
    if report.errors:
        raise CheckFailed(f"{len(report.errors)} error(s) in menus or templates (run.py check): {report.errors[0]}")
    loaded = report.loaded
    texts = loaded.texts
    directory = Directory.load(settings.config_dir / "consulates.yaml")
    services = load_services(settings.config_dir / "services.yaml", texts.languages)
    duty_words = loaded.keywords.duty.words if loaded.keywords.duty else {}
    vocabulary = Vocabulary.build(texts.raw, texts.languages, duty_words)
    warm_places()  # the offline ZIP and city indexes, built before the first person asks
    features = build_features(directory, services, policy.features, vocabulary)
    # Carriers never compress what they post: bodies are read as sent, and a compressed one is refused with
    # a 400 of ours rather than decoded (and its errors answered) by the HTTP parser.
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[edge], handler_args={"auto_decompress": False})
    unreadable_requests_echo_nothing()
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.METRICS] = Metrics()
    app[keys.TEXTS] = texts

    async def resources(app: web.Application):
        async with contextlib.AsyncExitStack() as stack:
            # A second service in this process (the tests' "other process") shares the open database: pointing
            # the models at a new connection pool would move transactions the first one has running.
            if not is_open_at(settings.database_url):
                open_database(settings.database_url)
            # SQLite webhooks write on the event loop's own connection: closed with the service, last.
            stack.callback(_close_loop_connection)
            store = Store(answer_within=policy.conversation.database_wait_seconds)
            stack.push_async_callback(asyncio.to_thread, store.close)  # waits for running transactions
            await _unlocked(store, settings)  # the key checked, the schema migrated
            senders = build_senders(settings, policy.outbox)
            for sender in senders.values():
                stack.push_async_callback(sender.close)
            dispatcher = Dispatcher(store, senders, policy.outbox, clock, app[keys.METRICS])
            app[keys.STORE] = store
            app[keys.DISPATCHER] = dispatcher
            conversation = Conversation(
                store,
                texts,
                policy,
                settings.sms_providers,
                clock,
                dispatcher.wake,
                Engine(loaded.flows, READING),
                loaded.keywords,
                features,
            )
            app[keys.CONVERSATION] = conversation
            task = asyncio.create_task(dispatcher.run(), name="dispatcher")
            stack.push_async_callback(_stop, task)
            cleaner = asyncio.create_task(_forget_expired_sessions(store, clock), name="sessions")
            stack.push_async_callback(_stop, cleaner)
            scheduler = asyncio.create_task(_send_due(conversation), name="scheduled")
            stack.push_async_callback(_stop, scheduler)
            purger = asyncio.create_task(_purge_daily(store, clock, policy.privacy), name="purge")
            stack.push_async_callback(_stop, purger)
            yield

    app.cleanup_ctx.append(resources)
    add_routes(app)
    console = console_app(
        lambda: app[keys.STORE],
        clock,
        lambda: app[keys.CONVERSATION],
        directory,
        services,
        policy.default_language,
        is_https(settings.public_url),
        CONSOLE_IDLE_SECONDS,
    )
    app.add_subapp("/console/", console)
    app.add_subapp("/api/v1/", api_app(console[CONSOLE_STATE]))
    return app


# Young objects are collected after this many allocations (Python's default is 700): a webhook allocates
# a few thousand, and each collection walks what is still young, so collecting rarely costs less in all.
# The older generations keep Python's defaults: once start-up is frozen they hold little.
GC_THRESHOLDS = (20_000, 10, 10)


async def settle_heap(app: web.Application) -> None:
    """Once start-up has loaded menus, texts and the places index (millions of objects that live as long as
    the process), moves them out of the collector's sight: a full collection would walk them all again,
    pausing every webhook in flight for about 240 ms, every half minute under traffic. For `serve` only:
    tests build many applications in one process, and frozen objects are never collected."""
    gc.collect()  # start-up's garbage goes first, so it is not frozen with the rest
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log.info("start-up heap frozen: %d objects", gc.get_freeze_count())


# How often expired conversation sessions are deleted.
SESSION_SWEEP_SECONDS = 600


async def _forget_expired_sessions(store: Store, clock: Callable[[], float]) -> None:
    """Expired sessions are unreadable already (load checks expiry); this keeps the table small."""
    while True:
        try:
            await store.run(sessions.purge_expired, clock())
            await store.run(accounts.purge_sessions, clock())
        except Exception:  # the store is down: the dispatcher reports it; try again next round
            log.warning("could not purge expired sessions", exc_info=True)
        await asyncio.sleep(SESSION_SWEEP_SECONDS)


PURGE_SECONDS = 24 * 3600


async def _purge_daily(store: Store, clock: Callable[[], float], privacy: PrivacyPolicy) -> None:
    """The retention period, applied once a day (and at start-up)."""
    while True:
        try:
            now = clock()
            purged = await store.run(retention.purge, privacy.retention_days, privacy.replay_window_days, now)
            log.info("retention: purged %s", purged)
        except Exception:  # the store is down: the dispatcher reports it; try again tomorrow
            log.warning("could not apply the retention period", exc_info=True)
        await asyncio.sleep(PURGE_SECONDS)


# How often the store is asked what is due (escalation is due after minutes, reminders after hours).
DUE_SWEEP_SECONDS = 15


async def _send_due(conversation: Conversation) -> None:
    """Runs from the store: an alert raised or an appointment booked before a restart is handled after it."""
    while True:
        try:
            await conversation.send_due()
        except Exception:  # the store is down: the dispatcher reports it; try again next round
            log.warning("could not look for escalations and reminders", exc_info=True)
        await asyncio.sleep(DUE_SWEEP_SECONDS)


def _close_loop_connection() -> None:
    if database.obj is not None:
        database.close()


# Another process starting on the same SQLite file may be migrating it (re-encrypting every row, say):
# started beside it, this one waits for its turn instead of failing at its first locked BEGIN.
STARTUP_LOCK_SECONDS = 120.0


async def _unlocked(store: Store, settings: Settings, patience: float = STARTUP_LOCK_SECONDS) -> None:
    deadline = time.monotonic() + patience
    while True:
        try:
            return await store.run(unlock, settings)
        except DatabaseUnavailable as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            log.warning("the database is locked by another process (migrating it?): waiting to start")
            await asyncio.sleep(0.2)


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
