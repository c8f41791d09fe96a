"""One inbound message being handled, and what every channel does with it: run the handlers a step asks
for, write their SMS in each recipient's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.conversation.bounded import bounded
from gateway.conversation.outgoing import Sms
from gateway.engine.engine import Context, Engine, Step
from gateway.messages import Inbound
from gateway.policy import Policy
from gateway.texts import Texts
from handlers.outcome import Outgoing, Request
from handlers.reference.numbers import region_of
from handlers.registry import Handler
from store import inbound as inbound_store

# Action screens leading to action screens: a flow error must not spin forever.
MAX_ACTIONS_PER_INPUT = 10


@dataclass
class Turn:
    """Who wrote, in which language, and the SMS their message causes."""

    message: Inbound
    person: inbound_store.KnownPerson
    language: str
    context: Context
    now: float
    outgoing: list[Sms] = field(default_factory=list)
    erased: bool = False  # the person erased themselves with this message


class Steps:
    """Runs the engine's steps with the handlers, and writes texts in the reader's language."""

    def __init__(self, engine: Engine, handlers: Mapping[str, Handler], texts: Texts, policy: Policy):
        self.engine = engine
        self._handlers = handlers
        self._texts = texts
        self._policy = policy

    def run(self, step: Step, turn: Turn) -> Step:
        """Runs the handlers a step asks for until a screen is ready to show."""
        for _ in range(MAX_ACTIONS_PER_INPUT):
            if step.call is None:
                return step
            result = self._handlers[step.call.handler](
                Request(
                    phone=turn.message.phone,
                    person_id=turn.person.id,
                    language=turn.language,
                    channel=turn.message.channel.value,
                    args=step.call.args,
                    data=step.call.data,
                    now=turn.now,
                    languages=self._texts.languages,
                    region=turn.context.region,
                )
            )
            turn.outgoing.extend(self.written(out) for out in result.outgoing)
            if result.language:
                turn.language = result.language
            turn.erased = turn.erased or result.forget_sender
            step = self.engine.after(step.session, result.outcome, result.values, turn.context)
        raise RuntimeError(f"more than {MAX_ACTIONS_PER_INPUT} actions in a row at {step.session.screen}")

    def written(self, out: Outgoing) -> Sms:
        """A handler's message in the recipient's language."""
        language = out.language or self.language_for(out.to)

        def render(values):
            return self._texts.say(language, out.text, values)

        values = {**out.values, **out.localized.get(language, {})}
        text = bounded(render, values, out.shorten, out.max_segments) if out.max_segments else render(values)
        return Sms(out.to, text, out.tag, out.delay_seconds, out.urgent)

    def say(self, turn: Turn):
        """Texts in the turn's language, for rendering a screen."""
        return lambda key, values: self._texts.say(turn.language, key, values)

    def language_for(self, phone: str) -> str:
        """The language of the number's country, else the deployment's."""
        return self._policy.country_languages.get(region_of(phone)) or self._policy.default_language
