"""The one entry point for everything a person sends: de-duplicate, decide, and commit the
decision together with the SMS it causes, before the carrier gets its answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from gateway import encoding
from gateway.messages import Channel, Inbound
from gateway.phones import mask
from gateway.policy import Policy
from gateway.texts import Texts
from handlers import help
from handlers.outcome import Outcome
from store import inbound as inbound_store
from store import outbox
from store.db import Store

log = logging.getLogger("lifeline.conversation")


@dataclass(frozen=True)
class Answer:
    """What goes back in the webhook's HTTP response (a USSD screen; nothing for SMS)."""

    text: str | None
    ends: bool
    repeated: bool  # this carrier message was already processed: nothing was done again


class Conversation:
    def __init__(
        self,
        store: Store,
        texts: Texts,
        policy: Policy,
        providers: tuple[str, ...],
        clock: Callable[[], float],
        wake_dispatcher: Callable[[], None],
    ):
        self._store = store
        self._texts = texts
        self._policy = policy
        self._providers = providers
        self._clock = clock
        self._wake_dispatcher = wake_dispatcher

    async def receive(self, message: Inbound) -> Answer:
        """Processes a message once; a retried webhook gets the first answer again."""
        try:
            answer, enqueued = await self._store.run(self._receive, message, self._clock())
        except peewee.IntegrityError:
            # The same webhook, retried, raced this one and committed first: answer as it did.
            answer, enqueued = await self._store.run(self._receive, message, self._clock())
        if enqueued:
            self._wake_dispatcher()
        log.info(
            "%s %s from %s%s",
            message.carrier,
            message.channel.value,
            mask(message.phone),
            " (repeat)" if answer.repeated else "",
        )
        return answer

    def _receive(self, message: Inbound, now: float) -> tuple[Answer, bool]:
        earlier = inbound_store.already_received(message.carrier, message.external_id)
        if earlier is not None:
            return Answer(earlier.text, earlier.ends, repeated=True), False
        person = inbound_store.touch_person(message.phone, now)
        language = person.language or self._policy.default_language

        def say(key: str) -> str:
            return self._texts.say(language, key)

        if message.channel is Channel.USSD:
            outcome = help.ussd(message.text, message.phone, say)
        else:
            outcome = help.sms(message.text, message.phone, say)
        screen = outcome.screen
        inbound_store.record_inbound(
            message.carrier,
            message.external_id,
            message.channel.value,
            person,
            message.text,
            screen.text if screen else None,
            screen.ends if screen else True,
            now,
        )
        self._enqueue(outcome, f"{message.carrier}:{message.external_id}", message.carrier, now)
        return Answer(screen.text if screen else None, screen.ends if screen else True, repeated=False), bool(
            outcome.outgoing
        )

    def _enqueue(self, outcome: Outcome, cause: str, preferred: str, now: float) -> None:
        """Writes the outcome's SMS to the outbox, in the caller's transaction."""
        route = route_for(self._providers, preferred)
        for number, out in enumerate(outcome.outgoing):
            text, shape = encoding.fit(out.text, self._policy.outbox.transliterate)
            outbox.enqueue(
                outbox.NewMessage(
                    idempotency_key=f"{cause}:{number}",
                    to=out.to,
                    body=text,
                    encoding=shape.encoding.value,
                    segments=shape.segments,
                    route=route,
                ),
                now,
            )


def route_for(providers: tuple[str, ...], preferred: str | None) -> tuple[str, ...]:
    """The configured providers in order, the one the person wrote to first: a reply should come
    from the number they know."""
    if preferred in providers:
        return (preferred,) + tuple(p for p in providers if p != preferred)
    return providers
