"""Retry and failover as a pure function of (attempts, provider position, error, time, deadline, Retry-After)."""

from __future__ import annotations

import pytest

from gateway.carriers.base import Failure, retry_after_seconds
from gateway.outbox.retry import plan_retry
from gateway.policy import OutboxPolicy

POLICY = OutboxPolicy(max_attempts=5, backoff_base_seconds=2, backoff_max_seconds=10)
NOW = 1000.0
ROUTINE = None  # no deadline: attempts are counted
SOON = NOW + 100  # an urgent message's deadline, 100 s ahead

RETRY, PROVIDER, RECIPIENT = Failure.RETRY, Failure.PROVIDER, Failure.RECIPIENT
GIVE_UP = "give up"

CASES = [
    # label, attempts, index, route length, failure, jitter, deadline, retry_after → next index (or GIVE_UP), delay
    ("single provider, first failure waits base", 1, 0, 1, RETRY, 0.0, ROUTINE, 0, 0, 1.0),
    ("single provider, full jitter doubles the floor", 1, 0, 1, RETRY, 0.999999, ROUTINE, 0, 0, 2.0),
    ("delays grow", 3, 0, 1, RETRY, 0.0, ROUTINE, 0, 0, 4.0),
    ("delays are capped", 4, 0, 1, RETRY, 0.999999, ROUTINE, 0, 0, 10.0),
    ("second provider is tried at once", 1, 0, 2, RETRY, 0.5, ROUTINE, 0, 1, 0.0),
    ("after the last provider, back to the first with a wait", 2, 1, 2, RETRY, 0.0, ROUTINE, 0, 0, 2.0),
    ("routine: attempts exhausted", 5, 0, 2, RETRY, 0.0, ROUTINE, 0, GIVE_UP, 0.0),
    ("recipient opted out: give up at once", 1, 0, 2, RECIPIENT, 0.0, ROUTINE, 0, GIVE_UP, 0.0),
    ("provider refused: next provider at once", 1, 0, 2, PROVIDER, 0.0, ROUTINE, 0, 1, 0.0),
    ("routine: provider refused and no other left", 2, 1, 2, PROVIDER, 0.0, ROUTINE, 0, GIVE_UP, 0.0),
    # Urgent messages: a deadline instead of a count.
    ("urgent: attempts do not run out", 50, 1, 2, RETRY, 0.0, SOON, 0, 0, 5.0),
    ("urgent: many attempts still capped, no overflow", 5000, 0, 1, RETRY, 0.999999, SOON, 0, 0, 10.0),
    ("urgent: fails over at once like any message", 9, 0, 2, RETRY, 0.0, SOON, 0, 1, 0.0),
    ("urgent: every provider refused, wait and try again", 2, 1, 2, PROVIDER, 0.0, SOON, 0, 0, 2.0),
    ("urgent: recipient invalid, give up anyway", 1, 0, 2, RECIPIENT, 0.0, SOON, 0, GIVE_UP, 0.0),
    ("urgent: the last wait ends at the deadline", 9, 0, 1, RETRY, 0.999999, NOW + 3, 0, 0, 3.0),
    ("urgent: deadline reached, give up", 9, 0, 1, RETRY, 0.0, NOW, 0, GIVE_UP, 0.0),
    ("urgent: deadline passed, give up", 1, 0, 2, RETRY, 0.0, NOW - 1, 0, GIVE_UP, 0.0),
    # Retry-After: the provider that said it is not called again before; another one may be at once.
    ("Retry-After longer than the backoff wins", 1, 0, 1, RETRY, 0.0, ROUTINE, 30, 0, 30.0),
    ("Retry-After shorter than the backoff changes nothing", 4, 0, 1, RETRY, 0.0, ROUTINE, 1, 0, 5.0),
    ("Retry-After does not hold back another provider", 1, 0, 2, RETRY, 0.0, ROUTINE, 30, 1, 0.0),
    ("Retry-After is honoured past the backoff cap", 9, 0, 1, RETRY, 0.0, SOON, 60, 0, 60.0),
    ("Retry-After is honoured even past the deadline", 9, 0, 1, RETRY, 0.0, NOW + 3, 30, 0, 30.0),
    ("Retry-After does not revive a routine message", 5, 0, 1, RETRY, 0.0, ROUTINE, 30, GIVE_UP, 0.0),
]


@pytest.mark.parametrize(
    "label,attempts,index,length,failure,jitter,deadline,retry_after,next_index,delay",
    CASES,
    ids=[c[0] for c in CASES],
)
def test_plan_retry(label, attempts, index, length, failure, jitter, deadline, retry_after, next_index, delay):
    step = plan_retry(attempts, index, length, failure, NOW, POLICY, jitter, deadline, retry_after)
    assert step.give_up is (next_index == GIVE_UP)
    if next_index != GIVE_UP:
        assert step.provider_index == next_index
    assert step.due_at - NOW == pytest.approx(delay, abs=1e-4)


HEADERS = [
    ("seconds", "30", 30.0),
    ("seconds with spaces", " 2 ", 2.0),
    ("an HTTP date 10 s ahead", "Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
    ("an HTTP date already past", "Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
    ("absent", None, 0.0),
    ("empty", "", 0.0),
    ("garbage", "soon", 0.0),
    ("negative", "-5", 0.0),
    ("a fraction (not allowed by the RFC)", "1.5", 0.0),
    ("absurdly long: capped at an hour", "999999999", 3600.0),
]


@pytest.mark.parametrize("label,header,seconds", HEADERS, ids=[h[0] for h in HEADERS])
def test_retry_after_header(label, header, seconds):
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_seconds(header, now) == seconds
