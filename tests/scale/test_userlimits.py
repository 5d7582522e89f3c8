"""Per-user rate limits: one bucket per user across connections and processes."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pykcworkshop.chat.backplane.userlimits import MemoryUserLimiter
from pykcworkshop.chat.backplane.userlimits_redis import RedisUserLimiter
from tests.support.services import PrivateRedis


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[tuple[RedisUserLimiter, RedisUserLimiter]]:
    """Two limiters sharing a private prefix, like two server processes."""
    prefix = f"test:limit:{secrets.token_hex(6)}:"
    first, second = RedisUserLimiter(redis_url, prefix=prefix), RedisUserLimiter(redis_url, prefix=prefix)
    await first.connect()
    await second.connect()
    yield first, second
    await first.disconnect()
    await second.disconnect()
    async with aioredis.Redis.from_url(redis_url) as client:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)


async def test_memory_buckets_are_per_key_and_refill() -> None:
    limiter = MemoryUserLimiter()
    assert [await limiter.allow("1:chat", rate=100.0, burst=3) for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("2:chat", rate=100.0, burst=3)  # another user: own bucket
    deadline = time.monotonic() + 5
    while not await limiter.allow("1:chat", rate=100.0, burst=3):
        assert time.monotonic() < deadline, "the bucket never refilled"
        await asyncio.sleep(0.005)


async def test_memory_forgets_idle_buckets() -> None:
    limiter = MemoryUserLimiter()
    limiter._SWEEP_EVERY = 10
    for n in range(9):
        await limiter.allow(f"{n}:chat", rate=1000.0, burst=1)
    await asyncio.sleep(0.01)  # every bucket is full again after 1 ms
    await limiter.allow("last:chat", rate=1000.0, burst=1)
    assert len(limiter) <= 1


async def test_one_bucket_across_processes(limiters: tuple[RedisUserLimiter, RedisUserLimiter]) -> None:
    first, second = limiters
    user = f"{secrets.randbelow(10**6)}:chat-message"
    answers = []
    for n in range(10):
        limiter = first if n % 2 else second
        answers.append(await limiter.allow(user, rate=0.01, burst=6))
    # Six tokens in total, whichever process the frames arrive at.
    assert answers == [True] * 6 + [False] * 4
    assert await first.allow(f"other-{user}", rate=0.01, burst=6)


async def test_concurrent_spending_never_exceeds_the_burst(
    limiters: tuple[RedisUserLimiter, RedisUserLimiter],
) -> None:
    first, second = limiters
    answers = await asyncio.gather(
        *(limiter.allow("9:chat", rate=0.01, burst=25) for _ in range(30) for limiter in (first, second))
    )
    assert answers.count(True) == 25


async def test_redis_bucket_refills_at_the_rate(limiters: tuple[RedisUserLimiter, RedisUserLimiter]) -> None:
    first, _ = limiters
    assert [await first.allow("5:sync", rate=20.0, burst=2) for _ in range(3)] == [True, True, False]
    deadline = time.monotonic() + 5
    while not await first.allow("5:sync", rate=20.0, burst=2):
        assert time.monotonic() < deadline, "the bucket never refilled"
        await asyncio.sleep(0.01)


async def test_falls_back_to_local_buckets_while_redis_is_down(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisUserLimiter(private_redis.url)
    await limiter.connect()
    try:
        assert await limiter.allow("1:chat", rate=0.01, burst=2)
        private_redis.stop()
        with caplog.at_level(logging.ERROR, logger="pykcworkshop.chat.backplane.userlimits_redis"):
            # Local buckets take over: limits still hold, nothing raises.
            assert [await limiter.allow("1:chat", rate=0.01, burst=2) for _ in range(3)] == [
                True,
                True,
                False,
            ]
        assert "using this process's buckets" in caplog.text
    finally:
        await limiter.disconnect()
