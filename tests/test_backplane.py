"""The backplane: one BROKER_URL picks the broker, presence and limiter backends together."""

from __future__ import annotations

import pytest

from pykcworkshop.chat.backplane import Backplane, backplane_for
from pykcworkshop.chat.backplane.presence import MemoryPresence
from pykcworkshop.chat.backplane.presence_redis import RedisPresence
from pykcworkshop.chat.backplane.pubsub_redis import RedisBackend
from pykcworkshop.chat.backplane.userlimits import MemoryUserLimiter
from pykcworkshop.chat.backplane.userlimits_redis import RedisUserLimiter


def test_memory_url_keeps_every_part_in_this_process():
    plane = backplane_for("memory://")
    assert plane.broker.backend is None  # delivered at once, no backend and no background task
    assert isinstance(plane.presence, MemoryPresence)
    assert isinstance(plane.limits, MemoryUserLimiter)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1"])
def test_redis_url_shares_every_part_through_redis(url):
    # Building connects nothing, so no Redis server is needed here.
    plane = backplane_for(url)
    assert isinstance(plane.broker.backend, RedisBackend) and plane.broker.backend.url == url
    assert isinstance(plane.presence, RedisPresence) and plane.presence.url == url
    assert isinstance(plane.limits, RedisUserLimiter) and plane.limits.url == url


@pytest.mark.parametrize("url", ["kafka://localhost", "", "localhost:6379"])
def test_unknown_url_scheme_is_refused(url):
    with pytest.raises(ValueError, match="unsupported BROKER_URL"):
        backplane_for(url)


async def test_connect_and_disconnect_every_part():
    plane = Backplane()
    await plane.connect()
    try:
        async with plane.broker.subscribe("a") as subscriber:
            await plane.broker.publish("a", {"n": 1})
            assert await subscriber.get() == '{"n":1}'
        await plane.presence.arrive("room", 1)
        assert await plane.presence.leave("room", 1) is True
        assert await plane.limits.allow("1:chat", rate=1.0, burst=1) is True
    finally:
        await plane.disconnect()
