"""Typed keys for what the application holds."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.conversation import Conversation
from gateway.metrics import Metrics
from gateway.outbox.dispatcher import Dispatcher
from gateway.settings import Settings
from gateway.texts import Texts
from store.db import Store

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Callable[[], float])
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
CONVERSATION = web.AppKey("conversation", Conversation)
TEXTS = web.AppKey("texts", Texts)
