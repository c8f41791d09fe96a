"""Which providers failed recently: a local observation of each server process, never shared state."""

from __future__ import annotations

from collections.abc import Callable

# A provider that just failed with a retryable error is passed over for this long.
UNHEALTHY_SECONDS = 30.0


class ProviderHealth:
    """Which providers failed recently (per process: health is a local observation)."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._failed_at: dict[str, float] = {}

    def failed(self, provider: str) -> None:
        self._failed_at[provider] = self._clock()

    def succeeded(self, provider: str) -> None:
        self._failed_at.pop(provider, None)

    def healthy(self, provider: str) -> bool:
        failed_at = self._failed_at.get(provider)
        return failed_at is None or self._clock() - failed_at >= UNHEALTHY_SECONDS
