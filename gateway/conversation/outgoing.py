"""SMS written by a turn, on their way into the outbox: measured, routed, enqueued in the caller's
transaction."""

from __future__ import annotations

from dataclasses import dataclass

from gateway import encoding
from gateway.outbox.policy import OutboxPolicy
from store import outbox


@dataclass(frozen=True)
class Sms:
    """An SMS as written, ready for the outbox."""

    to: str
    text: str
    tag: str | None = None
    delay_seconds: float = 0.0
    urgent: bool = False  # retried until policy's urgent deadline instead of max_attempts times


def route_for(providers: tuple[str, ...], preferred: str | None) -> tuple[str, ...]:
    """The configured providers in order, the one the person wrote to first: a reply should come
    from the number they know."""
    if preferred in providers:
        return (preferred,) + tuple(p for p in providers if p != preferred)
    return providers


def enqueue(outgoing: list[Sms], cause: str, route: tuple[str, ...], policy: OutboxPolicy, now: float) -> None:
    """Writes the SMS to the outbox, in the caller's transaction; `cause` makes each one's key unique, so a
    retried webhook enqueues nothing twice."""
    for number, sms in enumerate(outgoing):
        text, shape = encoding.fit(sms.text, policy.transliterate)
        outbox.enqueue(
            outbox.NewMessage(
                idempotency_key=f"{cause}:{number}",
                to=sms.to,
                body=text,
                encoding=shape.encoding.value,
                segments=shape.segments,
                route=route,
                tag=sms.tag,
                delay_seconds=sms.delay_seconds,
                deadline_seconds=policy.urgent_deadline_seconds if sms.urgent else None,
            ),
            now,
        )
