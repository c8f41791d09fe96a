"""The one entry point for everything a person sends: de-duplicate, run the flow, and commit the
new state together with the SMS it causes, before the carrier gets its answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import peewee

from gateway import encoding
from gateway.engine.engine import Context, Engine, Session, Step
from gateway.engine.keywords import Ambiguous, Keywords, Match, carrier_word
from gateway.engine.render import sms_text, ussd_screen
from gateway.messages import Channel, Inbound, StatusReport
from gateway.phones import mask, region_of
from gateway.policy import Policy
from gateway.texts import Texts
from handlers import duty
from handlers.alerts import delivery_followup, is_relay
from handlers.outcome import Outgoing, Request
from handlers.registry import Handler
from store import inbound as inbound_store
from store import outbox, people, roster, sessions
from store.crypto import lookup_hash
from store.db import Store

log = logging.getLogger("lifeline.conversation")

# Session data field: the language of the keyword an SMS exchange started with.
WORD_LANGUAGE = "_word_language"

# Action screens leading to action screens: a flow error must not spin forever.
MAX_ACTIONS_PER_INPUT = 10


@dataclass(frozen=True)
class Answer:
    """What goes back in the webhook's HTTP response (a USSD screen; nothing for SMS)."""

    text: str | None
    ends: bool
    repeated: bool  # this carrier message was already processed: nothing was done again


@dataclass(frozen=True)
class Sms:
    """An SMS as written, ready for the outbox."""

    to: str
    text: str
    tag: str | None = None
    delay_seconds: float = 0.0


@dataclass
class Turn:
    """One inbound message being handled: who, in which language, and the SMS it causes."""

    message: Inbound
    person: inbound_store.KnownPerson
    language: str
    context: Context
    now: float
    outgoing: list[Sms] = field(default_factory=list)


class Conversation:
    """Turns each inbound message into the next screen and the SMS it causes, in one transaction."""

    def __init__(
        self,
        store: Store,
        texts: Texts,
        policy: Policy,
        providers: tuple[str, ...],
        clock: Callable[[], float],
        wake_dispatcher: Callable[[], None],
        engine: Engine,
        keywords: Keywords,
        handlers: Mapping[str, Handler],
        duty_phones: frozenset[str] = frozenset(),
        due: Callable[[float], list[Outgoing]] | None = None,
    ):
        self._store = store
        self._texts = texts
        self._policy = policy
        self._providers = providers
        self._clock = clock
        self._wake_dispatcher = wake_dispatcher
        self._engine = engine
        self._keywords = keywords
        self._handlers = handlers
        self._duty_phones = duty_phones
        self._due = due  # what scheduled work has to send at a given time

    async def receive(self, message: Inbound) -> Answer:
        """Processes a message once; a retried webhook gets the first answer again."""
        try:
            answer, enqueued = await self._store.run(self._receive, message, self._clock())
        except peewee.IntegrityError:
            # The same webhook, retried, raced this one and committed first: answer as it did.
            answer, enqueued = await self._store.run(self._receive, message, self._clock())
        if enqueued:
            self._wake_dispatcher()
        log.debug(  # the access log already has one line per webhook
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
        region = region_of(message.phone)
        turn = Turn(
            message=message,
            person=person,
            language=person.language or self._language_for(message.phone),
            context=Context(facts=self._facts(person), region=region),
            now=now,
        )
        if message.channel is Channel.USSD:
            text, ends = self._ussd(turn)
        else:
            self._sms(turn)
            text, ends = None, True
        inbound_store.record_inbound(
            message.carrier, message.external_id, message.channel.value, person, message.text, text, ends, now
        )
        self._enqueue(turn.outgoing, f"{message.carrier}:{message.external_id}", message.carrier, now)
        return Answer(text, ends, repeated=False), bool(turn.outgoing)

    # -- USSD -----------------------------------------------------------------------------------

    def _ussd(self, turn: Turn) -> tuple[str, bool]:
        """One hop: the carrier sends every input so far; only the new ones are applied."""
        message, now, conversation = turn.message, turn.now, self._policy.conversation
        key = f"ussd:{message.carrier}:{message.session_id}"
        prefix = f"ussd:{message.carrier}:"
        inputs = message.text.split("*") if message.text else []
        stored = sessions.load(key, now)
        session = Session.from_json(stored.state) if stored else None
        if session is not None and self._engine.knows(session):
            step, consumed = Step(session), stored.consumed
        else:
            consumed = 0
            dropped = None
            if not inputs:  # a plain dial; a dial with options (*384*123*1#) is urgent, never delayed
                since = now - conversation.ussd_resume_minutes * 60
                dropped = sessions.dropped_ussd_session(lookup_hash(message.phone), prefix, since, now)
            paused = Session.from_json(dropped[1]) if dropped else None
            if paused is not None and self._engine.worth_resuming(paused):
                sessions.close(dropped[0], now)  # offered once, never again
                step = self._engine.offer_resume(paused)
            else:
                step = self._run(self._engine.home(turn.context), turn)
        for text in inputs[consumed:]:
            step = self._run(self._engine.answer(step.session, text, turn.context), turn)
        if step.show is None:
            step = self._engine.show(step.session, turn.context)
        screen = ussd_screen(step.show, self._say(turn))
        sessions.save(
            key,
            lookup_hash(message.phone),
            "ussd",
            step.session.to_json(),
            len(inputs),
            step.session.ended,
            now,
            now + conversation.ussd_session_minutes * 60,
        )
        return screen, step.show.ends

    # -- SMS ------------------------------------------------------------------------------------

    def _sms(self, turn: Turn) -> None:
        """A keyword starts a flow; a reply answers the question the last SMS asked; anything else gets help."""
        message, now = turn.message, turn.now
        key = f"sms:{lookup_hash(message.phone)}"
        reserved = carrier_word(message.text)
        if reserved == "opt_out":
            # The carrier confirms the opt-out itself; from now on nothing is sent to this number.
            outbox.opt_out(message.phone, now)
            sessions.forget(key)
            return
        if reserved == "opt_in":
            outbox.opt_in(message.phone)
            return
        if self._keywords.duty_start and duty.looks_like_command(message.text) and self._on_duty(message.phone, now):
            # A duty officer answering an alert; from any other number these words mean nothing special.
            step = self._run(
                self._engine.begin(self._keywords.duty_start, turn.context, {"duty_text": message.text}), turn
            )
            turn.outgoing.append(Sms(message.phone, sms_text(step.show, self._say(turn))))
            return
        match = None if reserved else self._keywords.match(message.text)
        stored = sessions.load(key, now) if match is None and not reserved else None
        pending = Session.from_json(stored.state) if stored else None
        if pending is not None and not self._engine.knows(pending):
            pending = None  # asked before the flows were edited: start afresh
        if isinstance(match, Match):
            target, data = self._entry(match)
            if not turn.person.language:
                # Answer in the language of the word they used, for the whole exchange.
                turn.language = data[WORD_LANGUAGE] = match.language
            step = self._run(self._engine.begin(target, turn.context, data), turn)
        elif pending is not None and not isinstance(match, Ambiguous):
            if not turn.person.language and pending.data.get(WORD_LANGUAGE):
                turn.language = pending.data[WORD_LANGUAGE]
            step = self._run(self._engine.answer(pending, message.text, turn.context), turn)
        else:
            turn.outgoing.append(Sms(message.phone, self._help(turn)))
            return
        if step.show is None:
            step = self._engine.show(step.session, turn.context)
        turn.outgoing.append(Sms(message.phone, sms_text(step.show, self._say(turn))))
        if step.show.ends:
            sessions.forget(key)
        else:
            expires = now + self._policy.conversation.sms_pending_minutes * 60
            sessions.save(key, lookup_hash(message.phone), "sms", step.session.to_json(), 0, False, now, expires)

    def _on_duty(self, phone: str, now: float) -> bool:
        """A duty phone of the configuration, or one an administrator put on a roster."""
        return phone in self._duty_phones or roster.is_on_duty(phone, now)

    def _facts(self, person: inbound_store.KnownPerson) -> frozenset[str]:
        """What flows may ask about the person (`if: has_contacts`)."""
        consented, contacts = people.registration(person.id)
        facts = set()
        if person.language:
            facts.add("has_language")
        if consented:
            facts.add("has_consent")
        if contacts:
            facts.add("has_contacts")
        if contacts >= people.MAX_CONTACTS:
            facts.add("contacts_full")
        return frozenset(facts)

    def _language_for(self, phone: str) -> str:
        """The language of the number's country, else the deployment's."""
        return self._policy.country_languages.get(region_of(phone)) or self._policy.default_language

    def _entry(self, match: Match) -> tuple[str, dict]:
        keyword = match.keyword
        if keyword.argument and match.argument:
            return keyword.start, {keyword.argument: match.argument}
        return keyword.start_without_argument or keyword.start, {}

    def _help(self, turn: Turn) -> str:
        words = ", ".join(self._keywords.listed(turn.language, self._texts.default_language))
        return self._texts.say(turn.language, "help.sms", {"keywords": words})

    # -- delivery reports -----------------------------------------------------------------------

    async def report(self, report: StatusReport) -> None:
        """Records a carrier's status report; once an alert's relays are all in, tells the person."""
        if await self._store.run(self._report, report, self._clock()):
            self._wake_dispatcher()

    def _report(self, report: StatusReport, now: float) -> bool:
        if not outbox.record_report(report.carrier, report.provider_message_id, report.status.value, report.error, now):
            return False  # a duplicate changes nothing
        tag = outbox.tag_of(report.carrier, report.provider_message_id)
        resent = False
        if is_relay(tag) and report.status.value in ("undelivered", "failed"):
            # A relay the carrier could not deliver goes out once more through the other provider,
            # before the person is told it was not received.
            resent = outbox.resend_elsewhere(report.carrier, report.provider_message_id, now)
        summary = [self._written(out) for out in delivery_followup(tag, now)]
        self._enqueue(summary, f"report:{report.carrier}:{report.provider_message_id}", report.carrier, now)
        return bool(summary) or resent

    # -- scheduled ------------------------------------------------------------------------------

    async def send_due(self) -> None:
        """Sends what the store says is due: escalations of unanswered alerts, appointment reminders."""
        if self._due is None:
            return
        if await self._store.run(self._send_due, self._clock()):
            self._wake_dispatcher()

    def _send_due(self, now: float) -> bool:
        messages = [self._written(out) for out in self._due(now)]
        self._enqueue(messages, f"due:{now:.6f}", None, now)
        return bool(messages)

    # -- shared ---------------------------------------------------------------------------------

    def _run(self, step: Step, turn: Turn) -> Step:
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
            turn.outgoing.extend(self._written(out) for out in result.outgoing)
            if result.language:
                turn.language = result.language
            step = self._engine.after(step.session, result.outcome, result.values, turn.context)
        raise RuntimeError(f"more than {MAX_ACTIONS_PER_INPUT} actions in a row at {step.session.screen}")

    def _written(self, out: Outgoing) -> Sms:
        """A handler's message in the recipient's language."""
        language = out.language or self._language_for(out.to)
        return Sms(out.to, self._texts.say(language, out.text, out.values), out.tag, out.delay_seconds)

    def _say(self, turn: Turn):
        return lambda key, values: self._texts.say(turn.language, key, values)

    def _enqueue(self, outgoing: list[Sms], cause: str, preferred: str, now: float) -> None:
        """Writes the SMS to the outbox, in the caller's transaction."""
        route = route_for(self._providers, preferred)
        for number, sms in enumerate(outgoing):
            text, shape = encoding.fit(sms.text, self._policy.outbox.transliterate)
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
                ),
                now,
            )


def route_for(providers: tuple[str, ...], preferred: str | None) -> tuple[str, ...]:
    """The configured providers in order, the one the person wrote to first: a reply should come
    from the number they know."""
    if preferred in providers:
        return (preferred,) + tuple(p for p in providers if p != preferred)
    return providers
