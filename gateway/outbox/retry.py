"""What to do after a failed send: a pure function of the message, the error and the time."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.carriers.base import Failure
from gateway.outbox.policy import OutboxPolicy


@dataclass(frozen=True)
class NextStep:
    give_up: bool
    provider_index: int  # where in the message's route the next attempt goes
    due_at: float


def plan_retry(
    attempts: int,
    provider_index: int,
    route_length: int,
    failure: Failure,
    now: float,
    policy: OutboxPolicy,
    jitter: float,
) -> NextStep:
    """Retry, fail over or give up after attempt number `attempts` failed.

    jitter is a number in [0, 1): the caller draws it, so tests can fix it.
    """
    if failure is Failure.RECIPIENT or attempts >= policy.max_attempts:
        return NextStep(True, provider_index, now)
    next_index = (provider_index + 1) % route_length
    if failure is Failure.PROVIDER:
        # This provider will not take the message; only another one might, and at once.
        if provider_index + 1 >= route_length:
            return NextStep(True, provider_index, now)
        return NextStep(False, next_index, now)
    if next_index > provider_index:
        # Another provider has not been tried in this round: fail over straight away.
        return NextStep(False, next_index, now)
    # Every provider failed this round: wait, longer each time, with "equal jitter" so that
    # messages failed by the same outage do not all come back at the same instant.
    delay = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2 ** (attempts - 1))
    return NextStep(False, next_index, now + delay / 2 + delay / 2 * jitter)
