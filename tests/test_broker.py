"""The pub/sub broker, in-process: fan-out, bounded queues, and subscription cleanup."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from pykcworkshop.chat.backplane import pubsub
from pykcworkshop.chat.backplane.pubsub import Broker, Event, SubscriberDropped, SubscriberLagging


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    chat_broker = Broker(capacity=8)
    await chat_broker.connect()
    yield chat_broker
    await chat_broker.disconnect()


async def next_message(subscriber: pubsub.Subscriber) -> str:
    return await asyncio.wait_for(subscriber.get(), 2)


class QueueBackend:
    """An in-process backend that hands published events back through a queue, as a
    backend that talks to another server would."""

    def __init__(self) -> None:
        self._published: asyncio.Queue[Event] = asyncio.Queue()

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def subscribe(self, channel: str) -> None:
        pass

    async def unsubscribe(self, channel: str) -> None:
        pass

    async def publish(self, channel: str, message: str, key: str | None = None) -> None:
        self._published.put_nowait(Event(channel, message, key))

    async def next_published(self) -> Event:
        return await self._published.get()


class RecordingBackend(QueueBackend):
    """A backend that records the channels it is asked to (un)subscribe."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    async def subscribe(self, channel: str) -> None:
        self.calls.append(("subscribe", channel))

    async def unsubscribe(self, channel: str) -> None:
        self.calls.append(("unsubscribe", channel))


class FailingBackend(QueueBackend):
    """A backend whose stream of events breaks when something is published on "fail"."""

    async def next_published(self) -> Event:
        event = await super().next_published()
        if event.channel == "fail":
            raise ConnectionError("lost the broker")
        return event


async def test_publish_reaches_every_subscriber_of_the_channel(broker):
    async with broker.subscribe("a") as first, broker.subscribe("a") as second:
        await broker.publish("a", {"n": 1})
        assert await next_message(first) == await next_message(second) == '{"n":1}'


async def test_publish_does_not_reach_other_channels(broker):
    async with broker.subscribe("a") as on_a, broker.subscribe("b") as on_b:
        await broker.publish("a", "for a")
        await broker.publish("b", "for b")
        assert json.loads(await next_message(on_b)) == "for b"
        assert json.loads(await next_message(on_a)) == "for a"


async def test_event_is_serialized_once_for_all_subscribers(broker):
    async with broker.subscribe("a") as first, broker.subscribe("a") as second:
        await broker.publish("a", {"text": "same object"})
        # The very same string object goes to everyone: one json.dumps per publish.
        assert await next_message(first) is await next_message(second)


async def test_publish_text_is_delivered_unchanged(broker):
    frame = '{ "not" :"re-serialized" }  '
    async with broker.subscribe("sync") as subscriber:
        await broker.publish_text("sync", frame)
        assert await next_message(subscriber) == frame


async def test_messages_arrive_in_publish_order(broker):
    async with broker.subscribe("a") as subscriber:
        for n in range(5):
            await broker.publish("a", n)
        assert [json.loads(await next_message(subscriber)) for _ in range(5)] == [0, 1, 2, 3, 4]


async def test_no_subscriber_left_after_1000_subscribe_cycles(broker):
    for _ in range(1000):
        async with broker.subscribe("room:cycle"):
            pass
    assert broker.subscriber_count() == 0
    assert broker.backend_channels() == frozenset()


async def test_no_subscriber_left_after_exceptions_inside_subscribe(broker):
    for _ in range(1000):
        with pytest.raises(RuntimeError):
            async with broker.subscribe("room:error"):
                raise RuntimeError("handler bug")
    assert broker.subscriber_count() == 0
    assert broker.backend_channels() == frozenset()


async def test_no_subscriber_left_after_cancelled_tasks(broker):
    async def hold(entered: asyncio.Event) -> None:
        async with broker.subscribe("room:cancel") as subscriber:
            entered.set()
            await subscriber.get()  # waits forever: nothing is published

    for _ in range(1000):
        entered = asyncio.Event()
        task = asyncio.create_task(hold(entered))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert broker.subscriber_count() == 0
    assert broker.backend_channels() == frozenset()


async def test_many_concurrent_subscribers_all_cleaned_up(broker):
    async def one(index: int) -> None:
        async with broker.subscribe(f"room:{index % 7}"):
            await asyncio.sleep(0)

    await asyncio.gather(*(one(index) for index in range(1000)))
    assert broker.subscriber_count() == 0
    assert broker.backend_channels() == frozenset()


async def test_backend_subscribes_once_per_channel_and_unsubscribes_after_the_last():
    backend = RecordingBackend()
    chat_broker = Broker(backend)
    async with chat_broker.subscribe("a"), chat_broker.subscribe("a"):
        assert backend.calls == [("subscribe", "a")]
    assert backend.calls == [("subscribe", "a"), ("unsubscribe", "a")]


async def test_lagging_subscriber_is_dropped_without_blocking_publish(broker):
    async with broker.subscribe("a") as reader, broker.subscribe("a") as stuck:
        for n in range(broker.capacity * 3):
            # Never waits, although `stuck` reads nothing.
            await asyncio.wait_for(broker.publish("a", n), 1)
            assert json.loads(await next_message(reader)) == n
        await asyncio.wait_for(stuck.dropped.wait(), 2)
        assert stuck.lagging
        with pytest.raises(SubscriberLagging):
            await stuck.get()
        assert not reader.dropped.is_set()


async def test_dropped_subscriber_raises_even_with_messages_queued(broker):
    async with broker.subscribe("a") as stuck:
        for n in range(broker.capacity + 1):
            await broker.publish("a", n)
        await asyncio.wait_for(stuck.dropped.wait(), 2)
        # The backlog is discarded: the reader learns at once that it must reconnect.
        with pytest.raises(SubscriberLagging):
            await stuck.get()


async def test_subscriber_within_capacity_is_not_dropped(broker):
    async with broker.subscribe("a") as slow, broker.subscribe("a") as probe:
        for n in range(broker.capacity):
            await broker.publish("a", n)
        # Once the probe has them all, the fan-out has offered them all to `slow` too.
        for n in range(broker.capacity):
            assert json.loads(await next_message(probe)) == n
        assert not slow.dropped.is_set()
        assert [json.loads(await next_message(slow)) for _ in range(broker.capacity)] == list(
            range(broker.capacity)
        )


async def test_backend_failure_drops_subscribers_and_delivery_resumes(monkeypatch):
    monkeypatch.setattr(pubsub, "BACKEND_RETRY_DELAY", 0)
    chat_broker = Broker(FailingBackend())
    await chat_broker.connect()
    try:
        async with chat_broker.subscribe("a") as subscriber:
            await chat_broker.publish_text("fail", "")
            await asyncio.wait_for(subscriber.dropped.wait(), 2)
            with pytest.raises(SubscriberDropped):
                await subscriber.get()
            assert not subscriber.lagging
        async with chat_broker.subscribe("a") as fresh:
            await chat_broker.publish("a", "after the failure")
            assert json.loads(await next_message(fresh)) == "after the failure"
    finally:
        await chat_broker.disconnect()


async def test_conflated_messages_keep_only_each_keys_latest_in_order(broker):
    async with broker.subscribe("room:c") as subscriber:
        for text, key in [("a1", "a"), ("b1", "b"), ("x", None), ("a2", "a"), ("y", None), ("a3", "a")]:
            await broker.publish_text("room:c", text, conflate=key)
        assert [await next_message(subscriber) for _ in range(4)] == ["b1", "x", "y", "a3"]
        # Once read, a key may wait again.
        await broker.publish_text("room:c", "a4", conflate="a")
        assert await next_message(subscriber) == "a4"


async def test_conflated_messages_do_not_fill_a_queue(broker):
    async with broker.subscribe("room:c") as subscriber:
        for n in range(10 * broker.capacity):
            await broker.publish(channel="room:c", event={"n": n}, conflate="user:1")
        assert not subscriber.dropped.is_set()
        assert await next_message(subscriber) == json.dumps(
            {"n": 10 * broker.capacity - 1}, separators=(",", ":")
        )


async def test_unkeyed_messages_still_overflow_a_queue(broker):
    async with broker.subscribe("room:c") as subscriber:
        await broker.publish_text("room:c", "keyed", conflate="k")
        for n in range(broker.capacity):  # a keyed message holds a slot too
            await broker.publish_text("room:c", str(n))
        assert subscriber.lagging


# ---------------------------------------------------------------- direct hand-over


async def test_direct_takes_messages_only_while_the_reader_waits_on_an_empty_queue(broker):
    taken: list[str] = []
    async with broker.subscribe("room:d") as subscriber:
        subscriber.direct = lambda message: taken.append(message) is None
        await broker.publish_text("room:d", "nobody reads yet")  # no reader waits: queued
        assert taken == []
        assert await next_message(subscriber) == "nobody reads yet"
        reading = asyncio.create_task(subscriber.get())
        await asyncio.sleep(0)  # the reader now waits on the empty queue
        await broker.publish_text("room:d", "handed over")
        assert taken == ["handed over"]
        assert not reading.done()  # the reader was not woken for it
        reading.cancel()


async def test_a_message_direct_declines_is_queued_for_the_reader(broker):
    async with broker.subscribe("room:d") as subscriber:
        subscriber.direct = lambda message: False
        reading = asyncio.create_task(subscriber.get())
        await asyncio.sleep(0)
        await broker.publish_text("room:d", "declined", conflate="k")
        assert await asyncio.wait_for(reading, 2) == "declined"


async def test_direct_is_not_offered_messages_once_the_subscriber_is_dropped(broker):
    taken: list[str] = []
    async with broker.subscribe("room:d") as subscriber:
        subscriber.direct = lambda message: taken.append(message) is None
        reading = asyncio.create_task(subscriber.get())
        await asyncio.sleep(0)
        subscriber.drop(SubscriberLagging("behind"))
        await broker.publish_text("room:d", "too late")
        assert taken == []
        with pytest.raises(SubscriberLagging):
            await asyncio.wait_for(reading, 2)


class CallbackBackend(QueueBackend):
    """A backend that hands events over through ``on_published`` as it receives them."""

    def __init__(self) -> None:
        super().__init__()
        self.on_published = None

    async def publish(self, channel: str, message: str, key: str | None = None) -> None:
        assert self.on_published is not None, "the broker sets on_published when it connects"
        self.on_published(Event(channel, message, key))


def taken_at_once(subscriber: pubsub.Subscriber) -> str | None:
    """The subscriber's next message if it is already queued, without letting any task run."""
    reading = subscriber.get()
    try:
        reading.send(None)
    except StopIteration as done:
        return done.value
    reading.close()
    return None


@pytest.mark.parametrize("backend_class", [CallbackBackend, QueueBackend])
async def test_a_backend_with_on_published_delivers_without_a_fan_out_hop(backend_class):
    backend = backend_class()
    chat_broker = Broker(backend, capacity=8)
    await chat_broker.connect()
    try:
        async with chat_broker.subscribe("room:cb") as subscriber:
            await chat_broker.publish_text("room:cb", "at once")
            if backend_class is CallbackBackend:
                assert taken_at_once(subscriber) == "at once"
            else:  # through next_published: the fan-out task has not run yet
                assert taken_at_once(subscriber) is None
                assert await next_message(subscriber) == "at once"
    finally:
        await chat_broker.disconnect()
    assert getattr(backend, "on_published", None) is None
