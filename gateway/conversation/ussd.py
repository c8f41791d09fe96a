"""USSD: one hop at a time. The carrier sends every input so far; only the new ones are applied, so
sessions survive restarts and hops may land on different processes."""

from __future__ import annotations

from gateway.conversation.turn import Steps, Turn
from gateway.engine.engine import Context, Session, Step
from gateway.engine.render import ussd_screen
from gateway.policy import ConversationPolicy
from store import sessions

# Main menus kept rendered: one per set of facts, region and language met, which stays far below this.
MAX_HOMES = 4096


class Ussd:
    def __init__(self, steps: Steps, policy: ConversationPolicy):
        self._steps = steps
        self._engine = steps.engine
        self._policy = policy
        # The main menu, shown on nearly every dial, depends only on the person's facts, region and
        # language: built, rendered and serialised once for each (its handler-free step, screen, state).
        self._homes: dict[tuple[Context, str], tuple[Step, str, str]] = {}

    def handle(self, turn: Turn) -> tuple[str, bool]:
        """The screen to show, and whether the session ends with it."""
        message, now = turn.message, turn.now
        key = f"ussd:{message.carrier}:{message.session_id}"
        inputs = message.text.split("*") if message.text else []
        stored = sessions.load(key, now)
        session = Session.from_json(stored.state) if stored else None
        if session is not None and self._engine.knows(session):
            step, consumed = Step(session), stored.consumed
        else:
            step, consumed = self._first_screen(turn, inputs), 0
        for text in inputs[consumed:]:
            step = self._steps.run(self._engine.answer(step.session, text, turn.context), turn)
        if step.show is None:
            step = self._engine.show(step.session, turn.context)
        screen, state = self._rendered(step, turn)
        sessions.save(
            key,
            turn.person.phone_hash,
            "ussd",
            state,
            len(inputs),
            # Stored as ended when nothing in it is worth offering again (it finished, or it is at the main
            # menu, where most dials stop): the next dial's look-up for a dropped session then finds no row,
            # and decrypts nothing, for nearly everyone.
            not self._engine.worth_resuming(step.session),
            now,
            now + self._policy.ussd_session_minutes * 60,
        )
        return screen, step.show.ends

    def _first_screen(self, turn: Turn, inputs: list[str]) -> Step:
        """The main menu; with one more line to resume a session the network dropped a moment ago."""
        message, now = turn.message, turn.now
        dropped = None
        if not inputs:  # a plain dial; a dial with options (*384*123*1#) is urgent, never delayed
            since = now - self._policy.ussd_resume_minutes * 60
            prefix = f"ussd:{message.carrier}:"
            dropped = sessions.dropped_ussd_session(turn.person.phone_hash, prefix, since, now)
        paused = Session.from_json(dropped[1]) if dropped else None
        if paused is not None and self._engine.worth_resuming(paused):
            sessions.close(dropped[0], now)  # offered once, never again
            return self._engine.offer_resume(paused, turn.context)
        return self._home(turn)

    def _home(self, turn: Turn) -> Step:
        cached = self._homes.get((turn.context, turn.language))
        if cached is not None:
            return cached[0]
        step = self._engine.home(turn.context)
        if step.call is not None:  # a main menu that runs a handler is built for each dial
            return self._steps.run(step, turn)
        if len(self._homes) >= MAX_HOMES:
            self._homes.clear()
        self._homes[(turn.context, turn.language)] = (
            step,
            ussd_screen(step.show, self._steps.say(turn)),
            step.session.to_json(),
        )
        return step

    def _rendered(self, step: Step, turn: Turn) -> tuple[str, str]:
        """The screen's text, and the session as stored."""
        cached = self._homes.get((turn.context, turn.language))
        if cached is not None and cached[0] is step:
            return cached[1], cached[2]
        return ussd_screen(step.show, self._steps.say(turn)), step.session.to_json()
