"""Sends what the outbox holds: claims due messages, sends each through the first healthy provider,
and records the outcome. Woken at once by whoever enqueues; otherwise sleeps until the next due time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable, Mapping

from gateway.carriers.base import Failure, Sender, SendError, Sent
from gateway.metrics import Metrics
from gateway.outbox.health import ProviderHealth
from gateway.outbox.policy import OutboxPolicy
from gateway.outbox.retry import plan_retry
from gateway.phones import mask
from store import outbox
from store.db import Store

log = logging.getLogger("lifeline.dispatcher")

# Other processes may enqueue or crash: look at the store at least this often even when not woken.
IDLE_POLL_SECONDS = 2.0
# While the store fails, the dispatcher retries at growing intervals up to this.
STORE_RETRY_MAX_SECONDS = 30.0
# A send the carrier accepted must be recorded: the write is retried this many times.
RECORD_ATTEMPTS = 5


class Dispatcher:
    """One per server process; several share the outbox safely through claims with leases."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        policy: OutboxPolicy,
        clock: Callable[[], float],
        metrics: Metrics,
        rng: Callable[[], float] = random.random,
    ):
        self._store = store
        self._senders = senders
        self.policy = policy  # /healthz and /metrics read the alarm threshold
        self._clock = clock
        self._metrics = metrics
        self._rng = rng
        self._health = ProviderHealth(clock)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task] = set()  # every send task, until its outcome is written
        # The messages whose carrier has not answered yet: the slots in use. A slot takes the next message
        # as soon as the carrier answers, while the outcome is being written.
        self._sending: set[int] = set()
        # Sends the carriers took, waiting to be recorded together in one transaction (see _mark_sent).
        self._accepted: list[tuple[outbox.Accepted, asyncio.Future]] = []
        self._recording: asyncio.Task | None = None
        self.problem: str | None = None  # why the outbox cannot be read right now, for /healthz

    def wake(self) -> None:
        """Something was enqueued (or a test moved the clock): look at the outbox now."""
        self._wake.set()

    async def run(self) -> None:
        """Runs until cancelled; in-flight sends are given a moment to finish on the way out."""
        # Claim in batches: one round trip for several messages, not one per freed slot.
        batch = max(1, self.policy.concurrency // 4)
        failures = 0
        try:
            while True:
                try:
                    await self._cycle(batch)
                    failures = 0
                except Exception as exc:  # the store is down: keep trying, never stop sending for good
                    failures += 1
                    self.problem = f"outbox unavailable: {type(exc).__name__}"
                    log.warning("%s (attempt %d), retrying", self.problem, failures, exc_info=failures == 1)
                    await asyncio.sleep(min(STORE_RETRY_MAX_SECONDS, 0.1 * 2 ** min(failures, 9)))
        finally:
            await self._drain()

    async def _cycle(self, batch: int) -> None:
        """Claims what is due (if there is room), then sleeps until there may be more."""
        self._wake.clear()
        free = self.policy.concurrency - len(self._sending)
        look_ahead = False
        if free >= batch:
            claimed = await self._store.brief(outbox.claim_due, free, self._clock(), self.policy.lease_seconds)
            self.problem = None  # the outbox answers again
            for message in claimed:
                self._sending.add(message.id)
                task = asyncio.create_task(self._send(message))
                self._in_flight.add(task)
                task.add_done_callback(functools.partial(self._finished, message.id))
            if len(claimed) == free:
                return  # there may be more due right now
            look_ahead = True  # nothing else is due now: sleep until something is
        await self._sleep(look_ahead)

    async def _sleep(self, look_ahead: bool) -> None:
        if self._wake.is_set():
            return  # enqueued (or a slot freed) meanwhile: claim again now, not after one more query
        timeout = IDLE_POLL_SECONDS
        if look_ahead:
            wake_at = await self._store.brief(outbox.next_wake_at)
            if wake_at is not None:
                timeout = min(timeout, max(0.0, wake_at - self._clock()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    def _answered(self, message_id: int) -> None:
        """The carrier answered (or the send ended without asking it): the slot is free."""
        if message_id in self._sending:
            self._sending.discard(message_id)
            self._wake.set()

    def _finished(self, message_id: int, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        self._answered(message_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("send task crashed", exc_info=task.exception())

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        # Whatever does not finish keeps its lease and is re-sent after a restart.
        _, pending = await asyncio.wait(self._in_flight, timeout=self.policy.send_timeout_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._recording is not None:  # nobody waits for it any more
            self._recording.cancel()
            await asyncio.gather(self._recording, return_exceptions=True)

    def _choose(self, message: outbox.Claimed, route: tuple[str, ...]) -> tuple[int, str | None]:
        """The position in the route to use: the planned one, or the next healthy one after it; when none
        is healthy, the next that has not asked us to wait, else the one whose wait ends first."""
        planned = route[message.provider_index] if message.provider_index < len(route) else None
        if planned in self._senders and self._health.healthy(planned):
            return message.provider_index, planned  # the usual case, decided without ranking the others
        usable = [i for i in range(len(route)) if route[i] in self._senders]
        if not usable:
            return message.provider_index, None
        ordered = sorted(usable, key=lambda i: (i - message.provider_index) % len(route))
        healthy = [i for i in ordered if self._health.healthy(route[i])]
        awake = [i for i in ordered if self._health.resting_until(route[i]) is None]
        resting = sorted(ordered, key=lambda i: self._health.resting_until(route[i]) or 0.0)
        index = (healthy or awake or resting)[0]
        return index, route[index]

    async def _send(self, message: outbox.Claimed) -> None:
        route = message.route
        index, provider = self._choose(message, route)
        route_length = len(route)
        if provider is None:
            error = SendError(Failure.PROVIDER, f"no configured provider in route {','.join(route)}")
            await self._failed(message, index, route_length, None, error)
            return
        resting_until = self._health.resting_until(provider)
        if resting_until is not None:
            # Every provider of the route asked us to wait (Retry-After): come back when this one allows.
            await self._record(outbox.postpone, message.id, message.claim_token, index, resting_until, self._clock())
            self._wake.set()  # its new due time may come before the dispatcher's next look
            return
        if message.unanswered and await self._found(message):
            return
        try:
            sent = await self._carrier_send(provider, message)
        except SendError as error:
            await self._failed(message, index, route_length, provider, error)
            return
        except Exception as exc:  # a sender bug must not lose the message: retry it
            log.exception("unexpected error from %s", provider)
            await self._failed(message, index, route_length, provider, SendError(Failure.RETRY, repr(exc)[:120]))
            return
        came_back = self._health.succeeded(provider)
        recorded = await self._mark_sent(message, provider, sent)
        self._metrics.count_send(provider, "sent")
        if not recorded:
            log.warning("message %s was sent by %s after its lease expired", message.id, provider)
        if message.tag == outbox.FORGET:
            await self._forget_traces()
        if came_back:
            await self._retry_waiting(provider)

    async def _carrier_send(self, provider: str, message: outbox.Claimed) -> Sent:
        try:
            return await self._senders[provider].send(message.to, message.body)
        finally:
            self._answered(message.id)

    async def _forget_traces(self) -> None:
        """The last text to someone who erased themselves has left and been forgotten: the database's older
        pages, which still held its number, are overwritten too."""
        try:
            await self._store.overwrite_old_pages()
        except Exception:  # they are overwritten by the next erasure or checkpoint
            log.warning("could not overwrite the database's old pages after an erasure", exc_info=True)

    async def _retry_waiting(self, provider: str) -> None:
        """A provider that failed works again: what waits to retry through it need not sit out its backoff."""
        try:
            count = await self._store.run(outbox.retry_now, provider, self._clock())
        except Exception:  # they still leave at their planned time
            log.warning("could not bring forward the messages waiting for %s", provider, exc_info=True)
            return
        if count:
            log.info("%s works again: %d waiting message(s) retried now", provider, count)
            self._wake.set()

    async def _found(self, message: outbox.Claimed) -> bool:
        """Whether a provider already has this message from an attempt whose answer never came; if so it is
        recorded as sent through that provider, not sent again."""
        found = await self._ask(message)
        if found is None:
            return False
        provider, sent = found
        await self._mark_sent(message, provider, sent)
        self._metrics.count_send(provider, "found")
        log.info("message %s to %s was already taken by %s: not sent again", message.id, mask(message.to), provider)
        return True

    async def _ask(self, message: outbox.Claimed) -> tuple[str, Sent] | None:
        """The provider of the route that says it took the message, and its id. A provider that cannot tell,
        or cannot be asked in time, counts as not having it: the message is sent again, at least once rather
        than lost."""
        policy = self.policy
        # The look-up and the send that may follow both fit in the lease.
        budget = min(policy.send_timeout_seconds, (policy.lease_seconds - policy.send_timeout_seconds) / 2)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(budget):
                for provider in dict.fromkeys(message.route):
                    if provider not in self._senders:
                        continue
                    try:
                        sent = await self._senders[provider].find_sent(message.to, message.body, message.created_at)
                    except SendError as error:
                        log.warning("could not ask %s about message %s: %s", provider, message.id, error)
                        continue
                    if sent is not None:
                        return provider, sent
        log.info("message %s to %s: no provider has it, sending again", message.id, mask(message.to))
        return None

    async def _mark_sent(self, message: outbox.Claimed, provider: str, sent: Sent) -> bool:
        """Records a send the carrier took; False when its claim was taken over meanwhile. The sends taken
        while one batch is being written wait and go together in the next: one transaction for many, so
        the records keep up with the sends, and queue behind webhooks' transactions once, not once each."""
        future = asyncio.get_running_loop().create_future()
        self._accepted.append(
            (outbox.Accepted(message.id, message.claim_token, provider, sent.provider_message_id), future)
        )
        if self._recording is None:
            self._recording = asyncio.create_task(self._record_accepted())
        return await future

    async def _record_accepted(self) -> None:
        try:
            while self._accepted:
                batch, self._accepted = self._accepted, []
                try:
                    recorded = await self._record(outbox.mark_sent, [a for a, _ in batch], self._clock(), brief=True)
                except Exception as exc:  # each send reports it, as when it was written alone
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for accepted, future in batch:
                    if not future.done():
                        future.set_result(accepted.id in recorded)
        finally:
            self._recording = None

    async def _record(self, fn, *args, brief: bool = False):
        """Writes a send's outcome, retrying a failing store: a lost write means a second send."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                return await (self._store.brief if brief else self._store.run)(fn, *args)
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("could not record a send outcome (attempt %d), retrying", attempt)
                await asyncio.sleep(0.2 * attempt)

    async def _failed(
        self, message: outbox.Claimed, index: int, route_length: int, provider: str | None, error: SendError
    ) -> None:
        now = self._clock()
        if error.failure is Failure.RETRY and provider is not None:
            self._health.failed(provider, error.retry_after)
        step = plan_retry(
            message.attempts,
            index,
            route_length,
            error.failure,
            now,
            self.policy,
            self._rng(),
            message.deadline_at,
            error.retry_after,
        )
        label = provider or "none"
        if step.give_up:
            await self._record(outbox.mark_failed, message.id, message.claim_token, provider, error.detail, now)
            if message.tag == outbox.FORGET:
                await self._forget_traces()
            self._metrics.count_send(label, "failed")
            # An urgent message given up is what nobody may miss; a routine one is an everyday event.
            level = logging.ERROR if message.deadline_at is not None else logging.WARNING
            log.log(level, "message %s to %s failed for good: %s", message.id, mask(message.to), error)
        else:
            unanswered = error.unanswered or message.unanswered  # asked again until a send is answered
            await self._record(
                outbox.reschedule,
                message.id,
                message.claim_token,
                step.provider_index,
                step.due_at,
                error.detail,
                now,
                unanswered,
            )
            # The slot was freed (and the dispatcher woken) when the carrier answered, before this was
            # written: its look at when to wake next still saw the message out on its lease.
            self._wake.set()
            self._metrics.count_send(label, error.failure.value)
            log.info("message %s to %s will be retried: %s", message.id, mask(message.to), error)
