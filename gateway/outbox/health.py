"""Which providers failed recently: a local observation of each server process, never shared state."""

from __future__ import annotations

from collections.abc import Callable

# A provider that just failed with a retryable error is passed over for this long.
UNHEALTHY_SECONDS = 30.0


class ProviderHealth:
    """Which providers failed recently, and which asked us to wait (per process: a local observation)."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._failed_at: dict[str, float] = {}
        self._resting_until: dict[str, float] = {}

    def failed(self, provider: str, retry_after: float = 0.0) -> None:
        """A retryable failure; retry_after > 0: the provider asked not to be called for that long."""
        now = self._clock()
        self._failed_at[provider] = now
        if retry_after > 0:
            self._resting_until[provider] = max(self._resting_until.get(provider, 0.0), now + retry_after)

    def succeeded(self, provider: str) -> bool:
        """Records a success; True when the provider had failed before (it has come back)."""
        return self._failed_at.pop(provider, None) is not None

    def healthy(self, provider: str) -> bool:
        failed_at = self._failed_at.get(provider)
        fresh = failed_at is None or self._clock() - failed_at >= UNHEALTHY_SECONDS
        return fresh and self.resting_until(provider) is None

    def resting_until(self, provider: str) -> float | None:
        """Until when the provider asked not to be called (Retry-After), if that is still ahead."""
        until = self._resting_until.get(provider)
        if until is not None and until <= self._clock():
            del self._resting_until[provider]
            return None
        return until
