"""A token bucket: allows ``rate`` events per second on average, bursts up to ``burst``."""

from __future__ import annotations

import time


class TokenBucket:
    """Rate limiter for one connection (not thread-safe; one event loop owns it).

    >>> bucket = TokenBucket(rate=1.0, burst=2)
    >>> bucket.take(), bucket.take(), bucket.take()
    (True, True, False)
    """

    __slots__ = ("_tokens", "_updated", "burst", "rate")  # two per open socket

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def take(self) -> bool:
        """Spend one token if there is one; return whether the event is allowed."""
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def delay(self) -> float:
        """Return how many seconds until a token is available (0.0 if one is now).

        >>> bucket = TokenBucket(rate=10.0, burst=1)
        >>> bucket.delay(), bucket.take(), 0.09 < bucket.delay() <= 0.1
        (0.0, True, True)
        """
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)
