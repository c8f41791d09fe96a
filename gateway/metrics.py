"""Prometheus metrics: counters of this process, plus outbox totals read from the store (all processes)."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["Metrics", "CONTENT_TYPE_LATEST"]

# The *_created series double the output and tell an operator nothing here.
disable_created_metrics()


class Metrics:
    """One registry per application, so several apps in one process (tests) never share counts."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "lifeline_inbound", "Webhooks received, by carrier and kind", ["carrier", "kind"], registry=self.registry
        )
        self.sends = Counter(
            "lifeline_send_attempts",
            "Send attempts by provider and result",
            ["provider", "result"],
            registry=self.registry,
        )
        self.webhook_latency = Histogram(
            "lifeline_webhook_seconds",
            "Time to answer a webhook",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.outbox_messages = Gauge(
            "lifeline_outbox_messages",
            "Outbound messages by provider and status (all processes)",
            ["provider", "status"],
            registry=self.registry,
        )
        self.outbox_segments = Gauge(
            "lifeline_outbox_segments",
            "SMS segments of outbound messages by provider and status (all processes)",
            ["provider", "status"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge("lifeline_outbox_backlog", "Messages waiting to leave", registry=self.registry)
        self.outbox_oldest = Gauge(
            "lifeline_outbox_oldest_pending_seconds",
            "Age of the oldest message waiting to leave",
            registry=self.registry,
        )
        self.outbox_overdue_urgent = Gauge(
            "lifeline_outbox_overdue_urgent",
            "Urgent messages (alert relays, pages) still waiting to leave after outbox.alarm_after_seconds",
            registry=self.registry,
        )
        # `serve` freezes what start-up loaded (gateway.app.settle_heap): 0 here means full collections
        # still walk the menus and the places index.
        self.heap_frozen = Gauge(
            "lifeline_heap_frozen_objects", "Objects of start-up left out of garbage collection", registry=self.registry
        )
        self.heap_frozen.set_function(gc.get_freeze_count)
        self._inbound: dict[tuple[str, str], Counter] = {}
        self._sends: dict[tuple[str, str], Counter] = {}
        self._latency: dict[str, Histogram] = {}

    def count_inbound(self, carrier: str, kind: str) -> None:
        """One webhook more (on every webhook: the labelled child is looked up once, not built each time)."""
        child = self._inbound.get((carrier, kind))
        if child is None:
            child = self._inbound[carrier, kind] = self.inbound.labels(carrier=carrier, kind=kind)
        child.inc()

    def count_send(self, provider: str, result: str) -> None:
        """One send attempt more and how it ended (on every message, looked up as count_inbound does)."""
        child = self._sends.get((provider, result))
        if child is None:
            child = self._sends[provider, result] = self.sends.labels(provider=provider, result=result)
        child.inc()

    def time_webhook(self, route: str, seconds: float) -> None:
        """How long a webhook took to answer."""
        child = self._latency.get(route)
        if child is None:
            child = self._latency[route] = self.webhook_latency.labels(route=route)
        child.observe(seconds)

    def set_outbox(
        self, totals: list[tuple[str, str, int, int]], waiting: int, oldest_age: float, overdue_urgent: int
    ) -> None:
        """Replaces the outbox gauges with fresh figures from the store."""
        self.outbox_messages.clear()
        self.outbox_segments.clear()
        for provider, status, messages, segments in totals:
            self.outbox_messages.labels(provider=provider, status=status).set(messages)
            self.outbox_segments.labels(provider=provider, status=status).set(segments)
        self.outbox_backlog.set(waiting)
        self.outbox_oldest.set(oldest_age)
        self.outbox_overdue_urgent.set(overdue_urgent)

    def render(self) -> bytes:
        return generate_latest(self.registry)
