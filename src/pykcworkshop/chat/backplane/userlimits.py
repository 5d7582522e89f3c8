"""Per-user rate limits that hold across every connection (and, with Redis, every process).

The per-connection token buckets in :mod:`pykcworkshop.chat.backplane.ratelimit` cannot stop one
user who opens many connections, possibly to different server processes. A
:class:`UserLimiter` keeps one token bucket per key (e.g. ``"42:chat-message"``: user 42's
chat messages, whichever socket or process they come through):

* ``memory://`` — :class:`MemoryUserLimiter`, buckets of this process only;
* ``redis://`` — :class:`~pykcworkshop.chat.backplane.userlimits_redis.RedisUserLimiter`,
  buckets in Redis shared by every process (an atomic Lua script on the Redis clock).

>>> import asyncio
>>> limiter = MemoryUserLimiter()
>>> async def burst():
...     return [await limiter.allow("7:chat-message", rate=1.0, burst=2) for _ in range(3)]
>>> asyncio.run(burst())
[True, True, False]
"""

from __future__ import annotations

import time
from typing import Protocol

from pykcworkshop.chat.backplane.ratelimit import TokenBucket


class UserLimiter(Protocol):
    """Token buckets keyed by user (and whatever else the key names)."""

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def allow(self, key: str, *, rate: float, burst: int) -> bool:
        """Spend one token of ``key``'s bucket (``rate`` per second, at most ``burst``)."""
        ...


class MemoryUserLimiter:
    """Buckets of this process only (enough for a single server process)."""

    #: Look for idle buckets to forget every this many calls.
    _SWEEP_EVERY = 1024

    def __init__(self) -> None:
        # key -> (bucket, when it was last used)
        self._buckets: dict[str, tuple[TokenBucket, float]] = {}
        self._calls = 0

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def disconnect(self) -> None:
        """Nothing to disconnect from."""

    async def allow(self, key: str, *, rate: float, burst: int) -> bool:
        """Spend one token of ``key``'s bucket; False if it is empty."""
        if rate <= 0 or burst < 1:
            return False
        now = time.monotonic()
        entry = self._buckets.get(key)
        bucket = entry[0] if entry is not None else None
        if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
            bucket = TokenBucket(rate, burst)
        self._buckets[key] = (bucket, now)
        self._calls += 1
        if self._calls % self._SWEEP_EVERY == 0:
            self._sweep(now)
        return bucket.take()

    def _sweep(self, now: float) -> None:
        # Bounded memory: a bucket idle long enough to be full again can be forgotten.
        for key, (bucket, used) in list(self._buckets.items()):
            if now - used >= bucket.burst / bucket.rate:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
