"""Pub/sub broker: fans out room events to every subscribed websocket.

One front class, :class:`Broker`, owns local fan-out; a small backend, handed to it,
moves messages between processes. Without a backend everything stays in this process and
a publish is delivered to the local subscribers at once, with no background task (so an
app whose event loop is simply closed leaves nothing pending);
:class:`~pykcworkshop.chat.backplane.pubsub_redis.RedisBackend` shares channels between
processes and hosts. (:func:`pykcworkshop.chat.backplane.backplane_for` picks from
``BROKER_URL``.)

Each subscriber has a bounded queue. A publish never waits for a subscriber: if one has
fallen :data:`~pykcworkshop.chat.constants.SUBSCRIBER_QUEUE_SIZE` messages behind, it is
dropped (its ``dropped`` event is set and its next read raises :class:`SubscriberLagging`),
so one slow client can never delay a room.

A publish may carry a *conflation key* (``publish(channel, event, conflate="user:42")``):
only the latest message with a given key waits in a subscriber's queue; a newer one
replaces the pending one (which leaves the queue; the new one joins at its end), and the
other messages keep their order. Member-status events conflate per user, so however often
a member changes status, it holds at most one slot in anyone's queue. The key travels with
the message through the backend.

>>> import asyncio
>>> async def demo():
...     broker = Broker()
...     await broker.connect()
...     async with broker.subscribe("room:1") as subscriber:
...         await broker.publish("room:1", {"hello": "world"})
...         message = await subscriber.get()
...     await broker.disconnect()
...     return message, broker.subscriber_count()
>>> asyncio.run(demo())
('{"hello":"world"}', 0)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Protocol

from pykcworkshop.chat.backplane.subscribers import Listener, Subscriber, SubscriberDropped, SubscriberLagging
from pykcworkshop.chat.constants import SUBSCRIBER_QUEUE_SIZE
from pykcworkshop.utils import stop_task

__all__ = [
    "Broker",
    "BrokerBackend",
    "Event",
    "Listener",
    "Subscriber",
    "SubscriberDropped",
    "SubscriberLagging",
]

log = logging.getLogger(__name__)

#: Seconds the fan-out waits before reading again from a backend that failed.
BACKEND_RETRY_DELAY = 1.0


class Event(NamedTuple):
    """A message published on a channel; ``message`` is already-serialized JSON text.

    ``key``, when set, is the conflation key: a subscriber keeps only the latest message
    with that key pending.
    """

    channel: str
    message: str
    key: str | None = None


class BrokerBackend(Protocol):
    """What a backend implements; fan-out to local subscribers is the front class's job.

    ``subscribe``/``unsubscribe`` are called once per channel (the front class counts its
    local subscribers), never concurrently. ``next_published`` returns the next event of
    any subscribed channel, published by any process; if it raises, the front class drops
    its local subscribers (their clients reconnect) and calls it again a moment later.

    A backend may also have an ``on_published`` attribute (initially None): the front
    class then sets it to its delivery function, and the backend calls it with each event
    as its reader receives it, instead of handing the event over through
    ``next_published``. That saves a task hop per message, which under load is a wait
    for the loop behind whatever runs meanwhile (often another message's fan-out).
    ``next_published`` must still report failures.
    """

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def subscribe(self, channel: str) -> None: ...
    async def unsubscribe(self, channel: str) -> None: ...
    async def publish(self, channel: str, message: str, key: str | None = None) -> None: ...
    async def next_published(self) -> Event: ...


class Broker:
    """Publish JSON events to channels and subscribe to them with bounded queues.

    The shape follows encode/broadcaster: ``Broker(backend)``, then
    ``await broker.publish(channel, event)``, and
    ``async with broker.subscribe(channel) as subscriber: async for message in subscriber``.
    Without a backend (``Broker()``) it serves this process only.
    """

    def __init__(
        self, backend: BrokerBackend | None = None, *, capacity: int = SUBSCRIBER_QUEUE_SIZE
    ) -> None:
        self.capacity = capacity
        self._backend = backend
        #: Local subscribers per channel; a channel is listed only while it has some.
        self._subscribers: dict[str, set[Subscriber]] = {}
        #: Channels the backend is subscribed to (reference-counted by ``_subscribers``).
        self._backend_channels: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        # Serializes backend (un)subscribe calls, so they reach the backend in order.
        self._lock = asyncio.Lock()

    @property
    def backend(self) -> BrokerBackend | None:
        """The backend that moves messages between processes; None in a single process."""
        return self._backend

    async def connect(self) -> None:
        """Connect the backend (if any) and start delivering its events locally."""
        if self._backend is not None:
            if hasattr(self._backend, "on_published"):
                setattr(self._backend, "on_published", self.deliver)  # noqa: B010 (not in the Protocol)
            await self._backend.connect()
            self._reader = asyncio.create_task(self._fan_out(self._backend), name="broker fan-out")

    async def disconnect(self) -> None:
        """Stop delivering and disconnect the backend."""
        await stop_task(self._reader)
        self._reader = None
        if self._backend is not None:
            if hasattr(self._backend, "on_published"):
                setattr(self._backend, "on_published", None)  # noqa: B010
            await self._backend.disconnect()

    async def publish(self, channel: str, event: Any, *, conflate: str | None = None) -> None:
        """Publish ``event`` (serialized to JSON here, once for all subscribers).

        With ``conflate``, a subscriber's pending message with the same key is replaced.
        """
        await self.publish_text(channel, json.dumps(event, separators=(",", ":")), conflate=conflate)

    async def publish_text(self, channel: str, message: str, *, conflate: str | None = None) -> None:
        """Publish text as it is (e.g. a client-sync frame relayed byte-for-byte)."""
        if self._backend is None:
            self.deliver(Event(channel, message, conflate))
        else:
            await self._backend.publish(channel, message, conflate)

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, on_message: Callable[[str], None] | None = None
    ) -> AsyncIterator[Subscriber]:
        """Subscribe to ``channel`` for the duration of the ``async with`` block.

        With ``on_message``, each message is handed to that callback as it is delivered
        (a :class:`Listener`) instead of waiting in a queue. The subscription ends when the
        block exits for any reason, including an exception or a cancelled task.
        """
        subscriber = (
            Subscriber(channel, self.capacity) if on_message is None else Listener(channel, on_message)
        )
        async with self._lock:
            if self._backend is not None and channel not in self._backend_channels:
                await self._backend.subscribe(channel)
                self._backend_channels.add(channel)
            self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            # Synchronous, so it happens even if this task is cancelled again right here.
            local = self._subscribers.get(channel)
            if local is not None:
                local.discard(subscriber)
                if not local:
                    del self._subscribers[channel]
                    # Shielded: a cancelled handler still leaves no backend subscription.
                    await asyncio.shield(self._release(channel))

    async def _release(self, channel: str) -> None:
        async with self._lock:
            # Someone may have subscribed again while we waited for the lock.
            if (
                self._backend is not None
                and channel in self._backend_channels
                and channel not in self._subscribers
            ):
                self._backend_channels.discard(channel)
                await self._backend.unsubscribe(channel)

    def subscriber_count(self, channel: str | None = None) -> int:
        """Return how many local subscribers a channel (or every channel) has."""
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return sum(len(local) for local in self._subscribers.values())

    def backend_channels(self) -> frozenset[str]:
        """Return the channels the backend is subscribed to (for tests and monitoring)."""
        return frozenset(self._backend_channels)

    def deliver(self, event: Event) -> None:
        """Hand ``event`` to every local subscriber of its channel, never waiting."""
        for subscriber in tuple(self._subscribers.get(event.channel, ())):
            if not subscriber.is_dropped and not subscriber.offer(event.message, event.key):
                log.warning("dropped a subscriber of %s that fell behind", event.channel)

    async def _fan_out(self, backend: BrokerBackend) -> None:
        while True:
            try:
                event = await backend.next_published()
            except Exception:
                log.exception("broker backend failed; dropping local subscribers so they reconnect")
                self._drop_all(SubscriberDropped("message broker unavailable"))
                await asyncio.sleep(BACKEND_RETRY_DELAY)
                continue
            self.deliver(event)

    def _drop_all(self, reason: SubscriberDropped) -> None:
        for local in self._subscribers.values():
            for subscriber in local:
                subscriber.drop(reason)
