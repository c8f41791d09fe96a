"""How the outbox sends: retries, leases, timeouts and concurrency (config/policy.yaml `outbox`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 8  # a routine message ends failed after this many attempts
    urgent_deadline_hours: float = 24.0  # an urgent message is retried until this long after it fell due
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0
    send_timeout_seconds: float = 15.0
    concurrency: int = 64  # sends in flight at once per process (each sender opens as many connections)
    transliterate: bool = False
    alarm_after_seconds: float = 180.0  # an urgent message not sent within this is overdue
    alarm_repeat_seconds: float = 1800.0  # while any is overdue, the central numbers are paged once per this

    def __post_init__(self) -> None:
        if self.send_timeout_seconds >= self.lease_seconds:
            raise ValueError("send_timeout_seconds must be below lease_seconds")
        if self.max_attempts < 1 or self.concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")

    @property
    def urgent_deadline_seconds(self) -> float:
        return self.urgent_deadline_hours * 3600.0
