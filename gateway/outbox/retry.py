"""What to do after a failed send: a pure function of the message, the error and the time."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.carriers.base import Failure
from gateway.outbox.policy import OutboxPolicy

# 2 ** this is the largest backoff multiplier: beyond it the cap applies anyway, and floats stay finite.
MAX_DOUBLINGS = 40


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
    deadline: float | None = None,
    retry_after: float = 0.0,
) -> NextStep:
    """Retry, fail over or give up after attempt number `attempts` failed.

    jitter is a number in [0, 1): the caller draws it, so tests can fix it. deadline is None for a
    routine message, given up after policy.max_attempts; an urgent one is retried until its deadline,
    also when every provider refused it (an account can be topped up). retry_after is how long the
    provider that failed asked not to be called again (its Retry-After).
    """
    if failure is Failure.RECIPIENT:
        return NextStep(True, provider_index, now)
    exhausted = attempts >= policy.max_attempts if deadline is None else now >= deadline
    if exhausted:
        return NextStep(True, provider_index, now)
    next_index = (provider_index + 1) % route_length
    round_over = provider_index + 1 >= route_length
    if failure is Failure.PROVIDER and round_over and deadline is None:
        return NextStep(True, provider_index, now)  # no provider will take it
    if round_over:
        # Every provider failed this round: wait, longer each time, with "equal jitter" so that
        # messages failed by the same outage do not all come back at the same instant.
        delay = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2 ** min(attempts - 1, MAX_DOUBLINGS))
        due_at = now + delay / 2 + delay / 2 * jitter
    else:
        due_at = now  # another provider has not been tried in this round: fail over straight away
    if deadline is not None:
        due_at = min(due_at, deadline)  # one last attempt at the deadline
    if next_index == provider_index:
        due_at = max(due_at, now + retry_after)  # the same provider again: not before it said
    return NextStep(False, next_index, due_at)
