"""SMS: a keyword starts a flow; a reply answers the question the last SMS asked; anything else gets
help. Carrier words are the carrier's; duty officers' commands go to their own flow."""

from __future__ import annotations

from collections.abc import Callable

from gateway.conversation.outgoing import Sms
from gateway.conversation.turn import Steps, Turn
from gateway.engine.engine import Session
from gateway.engine.keywords import Ambiguous, Keywords, Match
from gateway.engine.render import sms_text
from gateway.policy import ConversationPolicy
from gateway.texts import Texts
from store import outbox, sessions
from store.crypto import lookup_hash

# Session data field: the language of the keyword an SMS exchange started with.
WORD_LANGUAGE = "_word_language"


class TextMessages:
    def __init__(
        self,
        steps: Steps,
        keywords: Keywords,
        texts: Texts,
        policy: ConversationPolicy,
        is_duty_command: Callable[[str, str, float], bool],
    ):
        self._steps = steps
        self._engine = steps.engine
        self._keywords = keywords
        self._texts = texts
        self._policy = policy
        self._is_duty_command = is_duty_command

    def handle(self, turn: Turn) -> tuple[None, bool]:
        """Adds the answer (and whatever the handlers send) to the turn's SMS; the webhook answers nothing."""
        self._read(turn)
        return None, True

    def _read(self, turn: Turn) -> None:
        message, now = turn.message, turn.now
        key = f"sms:{lookup_hash(message.phone)}"
        reserved = self._keywords.carrier_word(message.text)
        if reserved == "opt_out":
            # The carrier confirms the opt-out itself; from now on nothing is sent to this number.
            outbox.opt_out(message.phone, now)
            sessions.forget(key)
            return
        if reserved == "opt_in":
            outbox.opt_in(message.phone)
            return
        if self._keywords.duty_start and self._is_duty_command(message.phone, message.text, now):
            # A duty officer answering an alert.
            step = self._steps.run(
                self._engine.begin(self._keywords.duty_start, turn.context, {"duty_text": message.text}), turn
            )
            turn.outgoing.append(Sms(message.phone, sms_text(step.show, self._steps.say(turn))))
            return
        match = None if reserved else self._keywords.match(message.text)
        stored = sessions.load(key, now) if match is None and not reserved else None
        pending = Session.from_json(stored.state) if stored else None
        if pending is not None and not self._engine.knows(pending):
            pending = None  # asked before the flows were edited: start afresh
        if isinstance(match, Match):
            target, data = _entry(match)
            if not turn.person.language:
                # Answer in the language of the word they used, for the whole exchange.
                turn.language = data[WORD_LANGUAGE] = match.language
            step = self._steps.run(self._engine.begin(target, turn.context, data), turn)
        elif pending is not None and not isinstance(match, Ambiguous):
            if not turn.person.language and pending.data.get(WORD_LANGUAGE):
                turn.language = pending.data[WORD_LANGUAGE]
            step = self._steps.run(self._engine.answer(pending, message.text, turn.context), turn)
        else:
            turn.outgoing.append(Sms(message.phone, self._help(turn)))
            return
        if step.show is None:
            step = self._engine.show(step.session, turn.context)
        turn.outgoing.append(Sms(message.phone, sms_text(step.show, self._steps.say(turn))))
        if step.show.ends:
            sessions.forget(key)
        else:
            expires = now + self._policy.sms_pending_minutes * 60
            sessions.save(key, lookup_hash(message.phone), "sms", step.session.to_json(), 0, False, now, expires)

    def _help(self, turn: Turn) -> str:
        words = ", ".join(self._keywords.listed(turn.language, self._texts.default_language))
        return self._texts.say(turn.language, "help.sms", {"keywords": words})


def _entry(match: Match) -> tuple[str, dict]:
    keyword = match.keyword
    if keyword.argument and match.argument:
        return keyword.start, {keyword.argument: match.argument}
    return keyword.start_without_argument or keyword.start, {}
