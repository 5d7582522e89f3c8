"""The Redis broker backend: cross-process pub/sub, cleanup, reconnects, Redis outages.

Two :class:`Broker` instances stand for two server processes. Kills on the shared Redis
target only our own connection (``CLIENT KILL ID``), so parallel runs are not disturbed;
``CLIENT KILL TYPE pubsub`` and restarts use a private redis-server.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pykcworkshop.chat.backplane.pubsub import Broker, Subscriber
from pykcworkshop.chat.backplane.pubsub_redis import RedisBackend
from tests.support import eventually
from tests.support.services import PrivateRedis

TIMEOUT = 10.0


def fast(url: str) -> Broker:
    """Return a broker on Redis at ``url``, with timings short enough for reconnect tests."""
    backend = RedisBackend(url)
    backend.backoff_initial = 0.05
    backend.backoff_max = 0.5
    backend.connect_timeout = 1.0
    backend.command_timeout = 1.0
    return Broker(backend)


def backend_of(broker: Broker) -> RedisBackend:
    backend = broker.backend
    assert isinstance(backend, RedisBackend)
    return backend


@pytest.fixture
async def brokers(redis_url: str) -> AsyncIterator[tuple[Broker, Broker]]:
    """Two connected brokers on the shared Redis, like two server processes."""
    first, second = fast(redis_url), fast(redis_url)
    await first.connect()
    await second.connect()
    try:
        yield first, second
    finally:
        await first.disconnect()
        await second.disconnect()


def channel_name() -> str:
    return f"test:{secrets.token_hex(8)}"


async def numsub(url: str, channel: str) -> int:
    async with aioredis.Redis.from_url(url) as client:
        counts = await client.pubsub_numsub(channel)
    return int(counts[0][1])


async def pubsub_client_ids(url: str, name: str) -> list[int]:
    async with aioredis.Redis.from_url(url) as client:
        clients = await client.client_list(_type="pubsub")
    return [int(c["id"]) for c in clients if c.get("name") == name]


async def get(subscriber: Subscriber, timeout: float = 5.0) -> str:
    return await asyncio.wait_for(subscriber.get(), timeout)


async def deliver_after_outage(publisher: Broker, subscriber: Subscriber, channel: str) -> str:
    """Publish probes until one arrives (those sent while reconnecting are lost)."""
    deadline = time.monotonic() + TIMEOUT
    n = 0
    while time.monotonic() < deadline:
        n += 1
        await publisher.publish_text(channel, f"probe-{n}")
        try:
            return await asyncio.wait_for(subscriber.get(), 0.2)
        except TimeoutError:
            continue
    raise AssertionError("no message got through after the outage")


async def test_publish_reaches_subscribers_of_another_process(brokers: tuple[Broker, Broker]) -> None:
    first, second = brokers
    channel = channel_name()
    async with first.subscribe(channel) as a1, first.subscribe(channel) as a2, second.subscribe(channel) as b:
        await second.publish(channel, {"hello": "world", "n": 1})
        expected = '{"hello":"world","n":1}'
        assert [await get(a1), await get(a2), await get(b)] == [expected] * 3
        # Text goes through byte-for-byte, including non-ASCII.
        await first.publish_text(channel, '{"x":  "ü 🙂"}')
        assert await get(b) == '{"x":  "ü 🙂"}'
        assert await get(a1) == '{"x":  "ü 🙂"}'


async def test_a_conflation_key_travels_with_the_message(brokers: tuple[Broker, Broker]) -> None:
    first, second = brokers
    channel = channel_name()
    async with second.subscribe(channel) as subscriber:
        for text, key in [("a1", "a"), ("x", None), ("a2", "a"), ("nul\x00inside", None)]:
            await first.publish_text(channel, text, conflate=key)
        await asyncio.sleep(0.5)  # everything has arrived and waits in the queue
        assert [await get(subscriber) for _ in range(3)] == ["x", "a2", "nul\x00inside"]


async def test_messages_from_one_publisher_arrive_in_order(brokers: tuple[Broker, Broker]) -> None:
    first, second = brokers
    channel = channel_name()
    async with second.subscribe(channel) as subscriber:
        for n in range(200):
            await first.publish_text(channel, str(n))
        received = [await get(subscriber) for _ in range(200)]
    assert received == [str(n) for n in range(200)]


async def test_other_channels_are_not_delivered(brokers: tuple[Broker, Broker]) -> None:
    first, second = brokers
    mine, other = channel_name(), channel_name()
    async with second.subscribe(mine) as subscriber:
        await first.publish_text(other, "not for you")
        await first.publish_text(mine, "for you")
        assert await get(subscriber) == "for you"


async def test_one_redis_subscription_per_process_and_cleanup(
    brokers: tuple[Broker, Broker], redis_url: str
) -> None:
    first, _ = brokers
    channel, another = channel_name(), channel_name()
    async with first.subscribe(channel), first.subscribe(channel), first.subscribe(another):
        assert first.subscriber_count(channel) == 2
        assert await numsub(redis_url, channel) == 1
        assert await numsub(redis_url, another) == 1
        # Every channel of the process shares one pub/sub connection.
        assert len(await pubsub_client_ids(redis_url, backend_of(first).client_name)) == 1
    assert first.subscriber_count() == 0

    async def unsubscribed() -> bool:
        return await numsub(redis_url, channel) == 0 and await numsub(redis_url, another) == 0

    await eventually(unsubscribed, "Redis to drop the subscriptions")


async def test_cancelled_subscriber_leaves_no_subscription(
    brokers: tuple[Broker, Broker], redis_url: str
) -> None:
    first, second = brokers
    channel = channel_name()
    entered = asyncio.Event()

    async def handler() -> None:
        async with first.subscribe(channel):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(handler())
    await asyncio.wait_for(entered.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first.subscriber_count(channel) == 0

    async def unsubscribed() -> bool:
        return await numsub(redis_url, channel) == 0

    await eventually(unsubscribed, "Redis to drop the subscription")
    # Subscribing again afterwards works.
    async with first.subscribe(channel) as subscriber:
        await second.publish_text(channel, "again")
        assert await get(subscriber) == "again"


async def test_reconnects_after_its_connection_is_killed(
    brokers: tuple[Broker, Broker], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = brokers
    backend = backend_of(second)
    channel, other = channel_name(), channel_name()
    async with second.subscribe(channel) as subscriber, second.subscribe(other) as other_subscriber:
        await first.publish_text(channel, "before")
        assert await get(subscriber) == "before"
        ids = await pubsub_client_ids(redis_url, backend.client_name)
        assert len(ids) == 1
        with caplog.at_level(logging.WARNING, logger="pykcworkshop.chat.backplane.pubsub_redis"):
            async with aioredis.Redis.from_url(redis_url) as admin:
                await admin.client_kill_filter(_id=str(ids[0]))
            # The same subscriber objects keep working: both channels were re-subscribed.
            await deliver_after_outage(first, subscriber, channel)
            await deliver_after_outage(first, other_subscriber, other)
        assert backend.connections_made == 2
        assert "reconnected" in caplog.text
        new_ids = await pubsub_client_ids(redis_url, backend.client_name)
        assert len(new_ids) == 1 and new_ids != ids


async def test_survives_client_kill_type_pubsub_and_restart(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    publisher, listener = fast(private_redis.url), fast(private_redis.url)
    await publisher.connect()
    await listener.connect()
    channel = channel_name()
    try:
        async with listener.subscribe(channel) as subscriber:
            await publisher.publish_text(channel, "one")
            assert await get(subscriber) == "one"

            # What an operator does with `redis-cli client kill type pubsub`.
            async with aioredis.Redis.from_url(private_redis.url) as admin:
                assert await admin.client_kill_filter(_type="pubsub") >= 1
            await deliver_after_outage(publisher, subscriber, channel)

            # Redis goes away: publishing is logged and dropped, nothing raises.
            private_redis.stop()
            with caplog.at_level(logging.WARNING, logger="pykcworkshop.chat.backplane.pubsub_redis"):
                await publisher.publish_text(channel, "lost")
                await publisher.publish(channel, {"also": "lost"})
                assert backend_of(publisher).publish_failures == 2
                assert "dropped a message" in caplog.text

                async def down() -> bool:
                    return not backend_of(listener).live

                await eventually(down, "the listener to notice the outage")
                # A subscription made while Redis is down is remembered...
                late = channel_name()
                async with listener.subscribe(late) as late_subscriber:
                    private_redis.start()
                    # ...and, like the old ones, active again once Redis is back.
                    await deliver_after_outage(publisher, subscriber, channel)
                    await deliver_after_outage(publisher, late_subscriber, late)
            assert "connection lost" in caplog.text
    finally:
        await publisher.disconnect()
        await listener.disconnect()


async def test_starts_and_publishes_while_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    from tests.support.services import free_port

    broker = fast(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="pykcworkshop.chat.backplane.pubsub_redis"):
        await broker.connect()
        try:
            async with broker.subscribe(channel_name()) as _:
                await broker.publish(channel_name(), {"n": 1})
        finally:
            await broker.disconnect()
    assert time.monotonic() - started < TIMEOUT
    assert "not reachable" in caplog.text and "dropped a message" in caplog.text


async def test_heartbeat_replaces_a_silent_connection(private_redis: PrivateRedis) -> None:
    publisher, listener = fast(private_redis.url), fast(private_redis.url)
    backend_of(listener).heartbeat_interval = 0.1
    await publisher.connect()
    await listener.connect()
    channel = channel_name()
    try:
        async with listener.subscribe(channel) as subscriber:
            # Redis stops answering this client's commands (PINGs) for a while; the
            # heartbeat must give up on the connection and open a new one.
            async with aioredis.Redis.from_url(private_redis.url) as admin:
                await admin.client_pause(1500, all=True)

            async def reconnected() -> bool:
                return backend_of(listener).connections_made >= 2

            await eventually(reconnected, "a heartbeat-triggered reconnect")
            await deliver_after_outage(publisher, subscriber, channel)
    finally:
        await publisher.disconnect()
        await listener.disconnect()
