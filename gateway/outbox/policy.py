"""How the outbox sends: retries, leases, timeouts and concurrency (config/policy.yaml `outbox`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0
    send_timeout_seconds: float = 15.0
    concurrency: int = 16
    transliterate: bool = False

    def __post_init__(self) -> None:
        if self.send_timeout_seconds >= self.lease_seconds:
            raise ValueError("send_timeout_seconds must be below lease_seconds")
        if self.max_attempts < 1 or self.concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")
