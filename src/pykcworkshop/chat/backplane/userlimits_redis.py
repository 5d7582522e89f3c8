"""Per-user token buckets in Redis, shared by every server process.

Each bucket is a Redis hash ``<prefix><key>`` with the tokens left and the time of the
last update; one Lua script refills and spends atomically on the Redis server's clock, so
processes on hosts with skewed clocks agree. A bucket expires once it would be full again.

If Redis is unreachable the limiter falls back to this process's own buckets (logged once
per outage) rather than refusing or allowing everything.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.asyncio import Redis

from pykcworkshop.chat.backplane import _redis
from pykcworkshop.chat.backplane._redis import REDIS_ERRORS
from pykcworkshop.chat.backplane.userlimits import MemoryUserLimiter

log = logging.getLogger(__name__)
#: After a failure, how long to use local buckets before trying Redis again (seconds).
RETRY_AFTER = 5.0

# KEYS[1] bucket; ARGV[1] rate per second, ARGV[2] burst. Returns 1 if a token was spent.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return allowed
"""


class RedisUserLimiter:
    """Per-user token buckets shared through Redis (``redis://`` URLs)."""

    def __init__(self, url: str, *, prefix: str = "pykc:limit:") -> None:
        self.url = url
        self.prefix = prefix
        self._client: Redis | None = None
        self._script: Any = None
        self._fallback = MemoryUserLimiter()
        self._down_until = 0.0

    async def connect(self) -> None:
        """Create the client (connections open on first use)."""
        # Short timeouts, one quick retry: a limit check sits in the path of every frame,
        # and on failure the local buckets answer instead.
        self._client = _redis.client(
            self.url, connect_timeout=1.0, command_timeout=2.0, retries=1, backoff=False
        )
        self._script = self._client.register_script(_TAKE)

    async def disconnect(self) -> None:
        """Close the client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def allow(self, key: str, *, rate: float, burst: int) -> bool:
        """Spend one token of ``key``'s bucket in Redis; False if it is empty."""
        if rate <= 0 or burst < 1:
            return False
        if self._client is None or time.monotonic() < self._down_until:
            return await self._fallback.allow(key, rate=rate, burst=burst)
        try:
            allowed = await self._script(keys=[self.prefix + key], args=[rate, burst])
        except REDIS_ERRORS as exc:
            if self._down_until == 0.0:
                log.error("per-user limits: Redis failed (%r); using this process's buckets", exc)
            self._down_until = time.monotonic() + RETRY_AFTER
            return await self._fallback.allow(key, rate=rate, burst=burst)
        if self._down_until:
            log.warning("per-user limits: Redis reachable again")
            self._down_until = 0.0
        return bool(int(allowed))
