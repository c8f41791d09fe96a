"""The aiohttp application: every resource opened and closed in one cleanup context."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from gateway import keys
from gateway.conversation import Conversation
from gateway.dispatcher import Dispatcher
from gateway.keyfile import load_secret
from gateway.metrics import Metrics
from gateway.policy import load_policy
from gateway.senders import build_senders
from gateway.settings import Settings
from gateway.texts import Texts
from gateway.webhooks import add_routes, edge
from store.crypto import configure_vault
from store.db import Store, open_database
from store.schema import migrate

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

# Twilio caps a Body at 1,600 characters; every real webhook fits well inside this.
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> web.Application:
    """The service, ready for web.run_app or a test client; files are read here, connections at start-up."""
    policy = load_policy(settings.config_dir)
    texts = Texts.load(TEMPLATES_DIR, policy.default_language)
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[edge])
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.METRICS] = Metrics()
    app[keys.TEXTS] = texts

    async def resources(app: web.Application):
        async with contextlib.AsyncExitStack() as stack:
            open_database(settings.database_url)
            configure_vault(load_secret(settings))
            store = Store()
            stack.callback(store.close)
            await store.run(migrate)
            senders = build_senders(settings, policy.outbox)
            for sender in senders.values():
                stack.push_async_callback(sender.close)
            dispatcher = Dispatcher(store, senders, policy.outbox, clock, app[keys.METRICS])
            app[keys.STORE] = store
            app[keys.SENDERS] = senders
            app[keys.DISPATCHER] = dispatcher
            app[keys.CONVERSATION] = Conversation(store, texts, policy, settings.sms_providers, clock, dispatcher.wake)
            task = asyncio.create_task(dispatcher.run(), name="dispatcher")
            stack.push_async_callback(_stop, task)
            yield

    app.cleanup_ctx.append(resources)
    add_routes(app)
    return app


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
