"""SMS: a keyword starts a flow; a reply answers the question the last SMS asked; anything else gets
help, with the alert one reply away. Carrier words are the carrier's; every text from a duty phone goes to
the officers' flow; a person's answer to their consulate goes to the officer who asked."""

from __future__ import annotations

from collections.abc import Callable

from gateway.conversation.outgoing import Sms
from gateway.conversation.turn import Steps, Turn
from gateway.engine.engine import Session, Step
from gateway.engine.keywords import Ambiguous, Keywords, Match
from gateway.engine.render import sms_text
from gateway.policy import ConversationPolicy
from gateway.texts import Texts
from store import outbox, sessions

# Session data field: the language of the keyword an SMS exchange started with.
WORD_LANGUAGE = "_word_language"
# Data fields the help screen is given: the keyword list, and what the person wrote (the alert's note if
# they answer 1), the answer to the consulate.
KEYWORD_LIST, FIRST_TEXT, ANSWER_TEXT = "keywords", "alert_text", "answer_text"


class TextMessages:
    def __init__(
        self,
        steps: Steps,
        keywords: Keywords,
        texts: Texts,
        policy: ConversationPolicy,
        is_duty_phone: Callable[[str, float], bool],
        awaits_answer: Callable[[str, float], float | None],
    ):
        self._steps = steps
        self._engine = steps.engine
        self._keywords = keywords
        self._texts = texts
        self._policy = policy
        self._is_duty_phone = is_duty_phone
        self._awaits_answer = awaits_answer

    def handle(self, turn: Turn) -> tuple[None, bool]:
        """Adds the answer (and whatever the handlers send) to the turn's SMS; the webhook answers nothing."""
        self._read(turn)
        return None, True

    def _read(self, turn: Turn) -> None:
        message, now = turn.message, turn.now
        key = f"sms:{turn.person.phone_hash}"
        reserved = self._keywords.carrier_word(message.text)
        if reserved == "opt_out":
            # The carrier confirms the opt-out itself; from now on nothing is sent to this number.
            outbox.opt_out(message.phone, now)
            sessions.forget(key)
            return
        if reserved == "opt_in":
            outbox.opt_in(message.phone)
            if not self._answering(message.phone, now):
                return  # the carrier confirms the opt-in itself; a YES the consulate asked for goes on below
        if self._keywords.duty_start and self._is_duty_phone(message.phone, now):
            # A duty officer: a command, or the officers' help; never the migrants' keywords.
            self._start(turn, self._keywords.duty_start, {"duty_text": message.text})
            return
        match = None if reserved else self._keywords.match(message.text)
        stored = sessions.load(key, now) if match is None and not reserved else None
        if not isinstance(match, Match) and reserved != "help" and self._answering(message.phone, now, stored):
            # The person answers the officer who wrote to them; an older pending question stays pending.
            self._start(turn, self._keywords.answer_start, {ANSWER_TEXT: message.text})
            return
        pending = Session.from_json(stored.state) if stored else None
        if pending is not None and not self._engine.knows(pending):
            pending = None  # asked before the flows were edited: start afresh
        if isinstance(match, Match):
            target, data = _entry(match)
            if not turn.person.language and match.language:
                # Answer in the language of the word they used, for the whole exchange.
                turn.language = data[WORD_LANGUAGE] = match.language
            step = self._steps.run(self._engine.begin(target, turn.context, data), turn)
        elif pending is not None and not isinstance(match, Ambiguous):
            if not turn.person.language and pending.data.get(WORD_LANGUAGE):
                turn.language = pending.data[WORD_LANGUAGE]
            step = self._steps.run(self._engine.answer(pending, message.text, turn.context), turn)
        elif self._keywords.help_start:
            data = {KEYWORD_LIST: self._keyword_list(turn)}
            if not reserved and message.text.strip():
                data[FIRST_TEXT] = message.text.strip()
            step = self._steps.run(self._engine.begin(self._keywords.help_start, turn.context, data), turn)
        else:
            words = self._keyword_list(turn)
            turn.outgoing.append(Sms(message.phone, self._texts.say(turn.language, "help.sms", {KEYWORD_LIST: words})))
            return
        step = self._send(turn, step)
        if step.show.ends:
            sessions.forget(key)
        else:
            expires = now + self._policy.sms_pending_minutes * 60
            sessions.save(key, turn.person.phone_hash, "sms", step.session.to_json(), 0, False, now, expires)

    def _answering(self, phone: str, now: float, stored: sessions.StoredSession | None = None) -> bool:
        """An officer wrote to the person, and Lifeline asked nothing since (a question asked after the
        officer's text, such as "Type your PIN", is what the person answers)."""
        if not self._keywords.answer_start:
            return False
        wrote_at = self._awaits_answer(phone, now)
        return wrote_at is not None and (stored is None or stored.updated_at < wrote_at)

    def _start(self, turn: Turn, target: str, data: dict) -> None:
        """A flow run for this one message, leaving any pending question as it was."""
        self._send(turn, self._steps.run(self._engine.begin(target, turn.context, data), turn))

    def _send(self, turn: Turn, step: Step) -> Step:
        if step.show is None:
            step = self._engine.show(step.session, turn.context)
        turn.outgoing.append(Sms(turn.message.phone, sms_text(step.show, self._steps.say(turn))))
        return step

    def _keyword_list(self, turn: Turn) -> str:
        return ", ".join(self._keywords.listed(turn.language, self._texts.default_language))


def _entry(match: Match) -> tuple[str, dict]:
    keyword = match.keyword
    if keyword.argument and match.argument:
        return keyword.start, {keyword.argument: match.argument}
    return keyword.start_without_argument or keyword.start, {}
