"""The one entry point for everything a person sends: de-duplicate, run the flow on the message's channel,
and commit the new state together with the SMS it causes, before the carrier gets its answer. Delivery
reports and scheduled work go through the same door."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import peewee

from gateway.conversation.outgoing import Sms, enqueue, route_for
from gateway.conversation.sms import TextMessages
from gateway.conversation.turn import Steps, Turn
from gateway.conversation.ussd import Ussd
from gateway.engine.engine import Context, Engine
from gateway.engine.keywords import Keywords
from gateway.messages import Channel, Inbound, StatusReport, UssdSessionEnded
from gateway.phones import DEFAULT_REGION, mask
from gateway.policy import Policy
from gateway.texts import Texts
from handlers.outcome import Outgoing, Result
from handlers.reference.numbers import region_of
from handlers.registry import Features
from store import inbound as inbound_store
from store import outbox, people, sessions
from store.db import Store

__all__ = ["Answer", "Conversation", "Sms", "enqueue", "route_for"]

log = logging.getLogger("lifeline.conversation")

# The store's name for the alarm "urgent messages are overdue", raised once per interval by one process.
OVERDUE_ALARM = "overdue_urgent"


@dataclass(frozen=True)
class Answer:
    """What goes back in the webhook's HTTP response (a USSD screen; nothing for SMS)."""

    text: str | None
    ends: bool
    repeated: bool  # this carrier message was already processed: nothing was done again


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
        features: Features,
    ):
        self._store = store
        self._policy = policy
        self._providers = providers
        self._clock = clock
        self._wake_dispatcher = wake_dispatcher
        self._features = features
        self._steps = Steps(engine, features.handlers, texts, policy)
        sms = TextMessages(
            self._steps, keywords, texts, policy.conversation, features.is_duty_phone, features.awaits_answer
        )
        ussd = Ussd(self._steps, policy.conversation)
        # One reader per channel; each fills the turn's SMS and gives the HTTP answer's text.
        self._channels = {Channel.USSD: ussd.handle, Channel.SMS: sms.handle}

    async def receive(self, message: Inbound) -> Answer:
        """Processes a message once; a retried webhook gets the first answer again."""
        try:
            answer, enqueued, erased = await self._store.answer(self._receive, message, self._clock())
        except peewee.IntegrityError:
            # The same webhook, retried, raced this one and committed first: answer as it did.
            answer, enqueued, erased = await self._store.answer(self._receive, message, self._clock())
        if enqueued:
            self._wake_dispatcher()
        if erased:
            try:
                await self._store.overwrite_old_pages()
            except Exception:  # the erasure is committed; the pages go at the next checkpoint
                log.warning("could not overwrite the database's old pages after an erasure", exc_info=True)
        log.debug(  # the access log already has one line per webhook
            "%s %s from %s%s",
            message.carrier,
            message.channel.value,
            mask(message.phone),
            " (repeat)" if answer.repeated else "",
        )
        return answer

    def _receive(self, message: Inbound, now: float) -> tuple[Answer, bool, bool]:
        if not inbound_store.first_delivery(message.carrier, message.external_id):
            # A retry or a replay: nothing is done again. Past the retention period only the mark is
            # left, and there is no earlier screen to show.
            earlier = inbound_store.already_received(message.carrier, message.external_id)
            if earlier is None:
                return Answer(None, True, repeated=True), False, False
            return Answer(earlier.text, earlier.ends, repeated=True), False, False
        person = inbound_store.touch_person(message.phone, now)
        turn = Turn(
            message=message,
            person=person,
            language=person.language or self._steps.language_for(message.phone),
            context=Context(facts=_facts(person), region=region_of(message.phone) or DEFAULT_REGION),
            now=now,
        )
        text, ends = self._channels[message.channel](turn)
        if turn.erased:
            # The answer still reaches them, and then their number and its text are forgotten; the session
            # this message saved (what they typed) goes with the rest.
            turn.outgoing = [
                replace(sms, tag=outbox.FORGET) if sms.to == message.phone else sms for sms in turn.outgoing
            ]
            sessions.forget_number(person.phone_hash)
        inbound_store.record_inbound(
            message.carrier, message.external_id, message.channel.value, person, message.text, text, ends, now
        )
        self._enqueue(turn.outgoing, f"{message.carrier}:{message.external_id}", message.carrier, now)
        return Answer(text, ends, repeated=False), bool(turn.outgoing), turn.erased

    async def report(self, report: StatusReport) -> None:
        """Records a carrier's status report and sends what the features say follows from it."""
        if await self._store.answer(self._report, report, self._clock()):
            self._wake_dispatcher()

    def _report(self, report: StatusReport, now: float) -> bool:
        if not outbox.record_report(report.carrier, report.provider_message_id, report.status.value, report.error, now):
            return False  # a duplicate changes nothing
        followup, resent = self._features.delivery_report(
            report.carrier, report.provider_message_id, report.status.value, now
        )
        messages = [self._steps.written(out) for out in followup]
        self._enqueue(messages, f"report:{report.carrier}:{report.provider_message_id}", report.carrier, now)
        return bool(messages) or resent

    async def ussd_ended(self, ended: UssdSessionEnded) -> None:
        """A carrier's notice that a USSD session is over, kept for the resume offer and the figures."""
        await self._store.answer(
            inbound_store.record_ussd_end,
            ended.carrier,
            ended.session_id,
            ended.status,
            ended.hops,
            ended.duration_ms,
            ended.error,
            self._clock(),
        )

    async def on_behalf(self, action: Callable[..., Result], *args) -> Result:
        """Runs an official's action (from the console) as action(*args, now) in one transaction; the SMS it
        causes are written and leave like any other."""
        result, enqueued = await self._store.run(self._on_behalf, action, args, self._clock())
        if enqueued:
            self._wake_dispatcher()
        return result

    def _on_behalf(self, action: Callable[..., Result], args: tuple, now: float) -> tuple[Result, bool]:
        result = action(*args, now)
        messages = [self._steps.written(out) for out in result.outgoing]
        self._enqueue(messages, f"console:{uuid.uuid4().hex}", None, now)
        return result, bool(messages)

    async def send_due(self) -> None:
        """Sends what the store says is due: escalations of unanswered alerts, appointment reminders, and
        the page that urgent messages are overdue."""
        if await self._store.run(self._send_due, self._clock()):
            self._wake_dispatcher()

    def _send_due(self, now: float) -> bool:
        due = self._features.due(now) + self._overdue_pages(now)
        messages = [self._steps.written(out) for out in due]
        self._enqueue(messages, f"due:{now:.6f}", None, now)
        return bool(messages)

    def _overdue_pages(self, now: float) -> list[Outgoing]:
        """While urgent messages wait longer than policy allows: what the features page about it, once per
        interval across all processes."""
        policy = self._policy.outbox
        waiting = outbox.overdue_urgent(now, policy.alarm_after_seconds)
        if not waiting or not outbox.claim_alarm(OVERDUE_ALARM, now, policy.alarm_repeat_seconds):
            return []
        log.warning("%d urgent message(s) waiting more than %gs: paging", waiting, policy.alarm_after_seconds)
        return self._features.overdue(now, waiting)

    def _enqueue(self, outgoing: list[Sms], cause: str, preferred: str | None, now: float) -> None:
        route = route_for(self._providers, preferred)
        enqueue(outgoing, cause, route, self._policy.outbox, now)


def _facts(person: inbound_store.KnownPerson) -> frozenset[str]:
    """What flows may ask about the person (`if: has_contacts`)."""
    facts = set()
    if person.language:
        facts.add("has_language")
    if person.consented:
        facts.add("has_consent")
    if person.contacts:
        facts.add("has_contacts")
    if person.contacts >= people.MAX_CONTACTS:
        facts.add("contacts_full")
    return frozenset(facts)
