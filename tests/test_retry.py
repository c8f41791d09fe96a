"""Retry and failover as a pure function of (attempts, provider position, error, time)."""

from __future__ import annotations

import pytest

from gateway.carriers.base import Failure
from gateway.outbox.retry import plan_retry
from gateway.policy import OutboxPolicy

POLICY = OutboxPolicy(max_attempts=5, backoff_base_seconds=2, backoff_max_seconds=10)
NOW = 1000.0

CASES = [
    # label, attempts, index, route length, failure, jitter → give up, next index, delay
    ("single provider, first failure waits base", 1, 0, 1, Failure.RETRY, 0.0, False, 0, 1.0),
    ("single provider, full jitter doubles the floor", 1, 0, 1, Failure.RETRY, 0.999999, False, 0, 2.0),
    ("delays grow", 3, 0, 1, Failure.RETRY, 0.0, False, 0, 4.0),
    ("delays are capped", 4, 0, 1, Failure.RETRY, 0.999999, False, 0, 10.0),
    ("second provider is tried at once", 1, 0, 2, Failure.RETRY, 0.5, False, 1, 0.0),
    ("after the last provider, back to the first with a wait", 2, 1, 2, Failure.RETRY, 0.0, False, 0, 2.0),
    ("attempts exhausted", 5, 0, 2, Failure.RETRY, 0.0, True, 0, 0.0),
    ("recipient opted out: give up at once", 1, 0, 2, Failure.RECIPIENT, 0.0, True, 0, 0.0),
    ("provider refused: next provider at once", 1, 0, 2, Failure.PROVIDER, 0.0, False, 1, 0.0),
    ("provider refused and no other left", 2, 1, 2, Failure.PROVIDER, 0.0, True, 1, 0.0),
]


@pytest.mark.parametrize(
    "label,attempts,index,length,failure,jitter,give_up,next_index,delay", CASES, ids=[c[0] for c in CASES]
)
def test_plan_retry(label, attempts, index, length, failure, jitter, give_up, next_index, delay):
    step = plan_retry(attempts, index, length, failure, NOW, POLICY, jitter)
    assert step.give_up is give_up
    assert step.provider_index == next_index
    assert step.due_at - NOW == pytest.approx(delay, abs=1e-4)
