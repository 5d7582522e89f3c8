"""Presence shared by every process through Redis: "was this the user's last connection?".

Data model (all keys under ``prefix``, default ``pykc:presence:``):

* ``<prefix>procs`` — a sorted set of live processes: member = a random id of the process,
  score = when its registration expires (Redis server time, ms). Each process renews it
  every ``heartbeat_interval`` seconds to ``ttl`` seconds ahead.
* ``<prefix><room>:<user_id>`` — a hash: process id → how many member-status connections
  that process holds for the user in the room.

:meth:`RedisPresence.leave` runs one Lua script (atomic on the Redis server): it decrements
this process's count, drops the entries of processes whose registration has expired, and
answers "last" only if no live process holds a connection any more. Two processes closing a
user's last two connections at the same time therefore get one True between them, so
Offline is sent exactly once.

A process that crashes stops renewing its registration; its connections stop counting at
most ``ttl`` seconds (default 15) after its last heartbeat. A live process whose
registration lapsed (Redis restarted and lost its data, or was unreachable for longer than
``ttl``) writes its counts back on the next successful heartbeat. While Redis is
unreachable, answers fall back to this process's own counts and the failure is logged;
nothing is raised into handlers.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from contextlib import suppress
from typing import Any

from redis.asyncio import Redis

from pykcworkshop.chat.backplane import _redis
from pykcworkshop.chat.backplane._redis import REDIS_ERRORS, RedisError
from pykcworkshop.utils import stop_task

log = logging.getLogger(__name__)

# KEYS[1] procs; ARGV[1] process id, ARGV[2] ttl ms. Returns 1 if the registration had
# lapsed (or never existed), so the caller writes its counts back.
_REGISTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if (not old) or tonumber(old) <= now then return 1 end
return 0
"""

# KEYS[1] the (room, user) hash; ARGV[1] process id, ARGV[2] key ttl ms.
_ARRIVE = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] the (room, user) hash, KEYS[2] procs; ARGV[1] process id. Returns 1 if no live
# process holds a connection any more. This process counts as live even if its own
# registration lapsed: it knows it is running.
_LEAVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if mine <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local entries = redis.call('HGETALL', KEYS[1])
local live = 0
for i = 1, #entries, 2 do
  local proc, count = entries[i], tonumber(entries[i + 1])
  local expires = redis.call('ZSCORE', KEYS[2], proc)
  if count > 0 and (proc == ARGV[1] or (expires and tonumber(expires) > now)) then
    live = live + count
  else
    redis.call('HDEL', KEYS[1], proc)
  end
end
if live == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS[1] the (room, user) hash, KEYS[2] procs. Sum of the live processes' counts.
_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entries = redis.call('HGETALL', KEYS[1])
local live = 0
for i = 1, #entries, 2 do
  local expires = redis.call('ZSCORE', KEYS[2], entries[i])
  if expires and tonumber(expires) > now then live = live + tonumber(entries[i + 1]) end
end
return live
"""


class RedisPresence:
    """Member-status connection counts shared by every process (``redis://`` URLs).

    ``heartbeat_interval`` and ``ttl`` (seconds) may be passed to tune crash detection:
    a crashed process's connections stop counting within ``ttl`` of its last heartbeat.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "pykc:presence:",
        heartbeat_interval: float = 5.0,
        ttl: float = 15.0,
    ) -> None:
        if not 0 < heartbeat_interval < ttl:
            raise ValueError("heartbeat_interval must be positive and shorter than ttl")
        self.url = url
        self.prefix = prefix
        self.heartbeat_interval = heartbeat_interval
        self.ttl = ttl
        #: This process's id in Redis (random, so a restarted process is a new one).
        self.process_id = secrets.token_hex(8)
        self._procs_key = f"{prefix}procs"
        self._local: Counter[tuple[str, int]] = Counter()
        # Pairs whose local count reached zero while Redis could not be told.
        self._stale: set[tuple[str, int]] = set()
        self._dirty = False
        self._lock = asyncio.Lock()
        self._client: Redis | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._reachable = True
        self._scripts: dict[str, Any] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Register this process and start its heartbeat (Redis may still be down)."""
        self._client = _redis.client(self.url)
        for name, source in (
            ("register", _REGISTER),
            ("arrive", _ARRIVE),
            ("leave", _LEAVE),
            ("count", _COUNT),
        ):
            self._scripts[name] = self._client.register_script(source)
        await self._beat_safely()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="presence heartbeat")

    async def disconnect(self) -> None:
        """Stop the heartbeat, withdraw this process's counts and close the client."""
        await stop_task(self._heartbeat)
        self._heartbeat = None
        if self._client is None:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for pair in self._local:
                    pipe.hdel(self._key(*pair), self.process_id)
                pipe.zrem(self._procs_key, self.process_id)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("presence: could not withdraw this process from Redis: %r", exc)
        with suppress(*REDIS_ERRORS):
            await self._client.aclose()
        self._client = None

    # -- Presence ----------------------------------------------------------------------

    async def arrive(self, room: str, user_id: int) -> None:
        """Count one more connection of ``user_id`` to ``room``, in every process's view."""
        async with self._lock:
            self._local[room, user_id] += 1
            self._stale.discard((room, user_id))
            if not self._reachable or self._client is None:
                self._dirty = True
                return
            try:
                await self._script("arrive", [self._key(room, user_id)], [self.process_id, self._key_ttl_ms])
            except REDIS_ERRORS as exc:
                self._failed("arrive", exc)

    async def leave(self, room: str, user_id: int) -> bool:
        """Count one connection less; return True if no process holds one any more.

        While Redis is unreachable the answer is this process's own (logged once per
        outage); the next successful heartbeat writes this process's counts back.
        """
        pair = (room, user_id)
        async with self._lock:
            self._local[pair] -= 1
            locally_last = self._local[pair] <= 0
            if locally_last:
                del self._local[pair]
            # After disconnect() (handlers finishing during shutdown) only local counts remain.
            if self._reachable and self._client is not None:
                try:
                    result = await self._script(
                        "leave", [self._key(*pair), self._procs_key], [self.process_id]
                    )
                    return bool(int(result))
                except REDIS_ERRORS as exc:
                    self._failed("leave", exc)
            self._dirty = True
            if locally_last:
                self._stale.add(pair)
            return locally_last

    async def count(self, room: str, user_id: int) -> int:
        """Return how many connections ``user_id`` has to ``room`` across live processes."""
        result = await self._script("count", [self._key(room, user_id), self._procs_key], [])
        return int(result)

    def local_count(self, room: str, user_id: int) -> int:
        """Return how many of those connections this process holds."""
        return self._local[room, user_id]

    # -- internals ---------------------------------------------------------------------

    @property
    def _key_ttl_ms(self) -> int:
        # A (room, user) hash outlives every process that wrote it by a few ttls.
        return int(self.ttl * 4 * 1000)

    def _key(self, room: str, user_id: int) -> str:
        return f"{self.prefix}{room}:{user_id}"

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        if self._client is None:
            raise RedisError("presence is not connected")
        return await self._scripts[name](keys=keys, args=args)

    def _failed(self, operation: str, exc: BaseException) -> None:
        # Until a heartbeat gets through, answer from local counts without waiting on Redis.
        self._dirty = True
        self._reachable = False
        log.error("presence: Redis %s failed (%r); using this process's counts meanwhile", operation, exc)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            await self._beat_safely()

    async def _beat_safely(self) -> None:
        was_reachable = self._reachable
        try:
            await self._beat()
        except REDIS_ERRORS as exc:
            self._dirty = True
            self._reachable = False
            if was_reachable:
                log.error("presence: Redis unreachable (%r); retrying every heartbeat", exc)
        except Exception:
            # Keep beating: a process that stops renewing is taken for dead by the others.
            self._dirty = True
            log.exception("presence: heartbeat failed; retrying")
        else:
            if not was_reachable:
                log.warning("presence: Redis reachable again; this process's counts written back")

    async def _beat(self) -> None:
        """Renew this process's registration; write its counts back if they may be lost."""
        assert self._client is not None
        lapsed = await self._script("register", [self._procs_key], [self.process_id, int(self.ttl * 1000)])
        if int(lapsed) or self._dirty or not self._reachable:
            async with self._lock:
                await self._write_back()
                self._dirty = False
                self._reachable = True
            return
        if self._local:
            async with self._client.pipeline(transaction=False) as pipe:
                for pair in self._local:
                    pipe.pexpire(self._key(*pair), self._key_ttl_ms)
                await pipe.execute()

    async def _write_back(self) -> None:
        """Set this process's entries to its own counts (caller holds the lock)."""
        assert self._client is not None
        async with self._client.pipeline(transaction=False) as pipe:
            for pair, count in self._local.items():
                key = self._key(*pair)
                pipe.hset(key, self.process_id, count)
                pipe.pexpire(key, self._key_ttl_ms)
            for pair in self._stale:
                pipe.hdel(self._key(*pair), self.process_id)
            await pipe.execute()
        self._stale.clear()
