"""Pub/sub broker: fans out room events to every subscribed websocket.

One front class, :class:`Broker`, owns local fan-out; a small backend moves messages
between processes. ``memory://`` keeps everything in this process; ``redis://`` (see
:mod:`pykcworkshop.chat.broker_redis`) shares channels between processes and hosts.

Each subscriber has a bounded queue. A publish never waits for a subscriber: if one has
fallen :data:`~pykcworkshop.chat.constants.SUBSCRIBER_QUEUE_SIZE` messages behind, it is
marked as lagging (its next read raises :class:`SubscriberLagging`) and dropped, so one
slow client can never delay a room.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from pykcworkshop.chat.constants import SUBSCRIBER_QUEUE_SIZE

log = logging.getLogger(__name__)


class Event(NamedTuple):
    """A message published on a channel; ``message`` is already-serialized JSON text."""

    channel: str
    message: str


class BrokerBackend(Protocol):
    """What a backend implements; fan-out to local subscribers is the front class's job."""

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def subscribe(self, channel: str) -> None: ...
    async def unsubscribe(self, channel: str) -> None: ...
    async def publish(self, channel: str, message: str) -> None: ...
    async def next_published(self) -> Event: ...


class MemoryBackend:
    """In-process backend: publishing puts the event straight onto the local stream."""

    def __init__(self, url: str = "memory://") -> None:
        self._published: asyncio.Queue[Event] = asyncio.Queue()

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def disconnect(self) -> None:
        """Nothing to disconnect from."""

    async def subscribe(self, channel: str) -> None:
        """Every channel is already visible in-process."""

    async def unsubscribe(self, channel: str) -> None:
        """Every channel is already visible in-process."""

    async def publish(self, channel: str, message: str) -> None:
        """Queue ``message`` for local fan-out."""
        self._published.put_nowait(Event(channel, message))

    async def next_published(self) -> Event:
        """Wait for the next published event."""
        return await self._published.get()


class SubscriberLagging(Exception):
    """The subscriber fell too far behind and was dropped from its channel."""


class Subscriber:
    """One subscription's bounded queue of serialized messages."""

    _LAGGED = object()

    def __init__(self, channel: str, capacity: int) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=capacity)
        self.lagging = False

    def offer(self, message: str) -> bool:
        """Queue ``message`` without waiting; return False (and mark lagging) if full."""
        if self.lagging:
            return False
        try:
            self._queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            self.lagging = True
            # Drop the backlog and leave only the marker, so the reader learns at once.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(self._LAGGED)
            return False

    async def get(self) -> str:
        """Return the next message; raise :class:`SubscriberLagging` once dropped."""
        item = await self._queue.get()
        if item is self._LAGGED:
            raise SubscriberLagging(f"subscriber of {self.channel!r} fell behind")
        assert isinstance(item, str)
        return item

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> str:
        return await self.get()


def _backend_for(url: str) -> BrokerBackend:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBackend(url)
    if scheme in ("redis", "rediss"):
        # Imported only when chosen, so the redis package stays optional.
        from pykcworkshop.chat.broker_redis import RedisBackend

        return RedisBackend(url)
    raise ValueError(f"unsupported BROKER_URL scheme {scheme!r} (use memory:// or redis://)")


class Broker:
    """Publish JSON events to channels and subscribe to them with bounded queues."""

    def __init__(self, url: str = "memory://", *, capacity: int = SUBSCRIBER_QUEUE_SIZE) -> None:
        self.url = url
        self.capacity = capacity
        self._backend = _backend_for(url)
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Connect the backend and start delivering its events locally."""
        await self._backend.connect()
        self._reader = asyncio.create_task(self._fan_out(), name="broker fan-out")

    async def disconnect(self) -> None:
        """Stop delivering and disconnect the backend."""
        if self._reader is not None:
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._backend.disconnect()

    async def publish(self, channel: str, event: Any) -> None:
        """Publish ``event`` (serialized to JSON here, once for all subscribers)."""
        await self.publish_text(channel, json.dumps(event, separators=(",", ":")))

    async def publish_text(self, channel: str, message: str) -> None:
        """Publish text as it is (e.g. a client-sync frame relayed byte-for-byte)."""
        await self._backend.publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        """Subscribe to ``channel`` for the duration of the ``async with`` block."""
        subscriber = Subscriber(channel, self.capacity)
        async with self._lock:
            local = self._subscribers.setdefault(channel, set())
            if not local:
                await self._backend.subscribe(channel)
            local.add(subscriber)
        try:
            yield subscriber
        finally:
            # Shielded, so a cancelled handler still leaves no subscription behind.
            await asyncio.shield(self._unsubscribe(subscriber))

    async def _unsubscribe(self, subscriber: Subscriber) -> None:
        async with self._lock:
            local = self._subscribers.get(subscriber.channel)
            if local is None:
                return
            local.discard(subscriber)
            if not local:
                del self._subscribers[subscriber.channel]
                await self._backend.unsubscribe(subscriber.channel)

    def subscriber_count(self, channel: str | None = None) -> int:
        """Return how many local subscribers a channel (or every channel) has."""
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return sum(len(local) for local in self._subscribers.values())

    async def _fan_out(self) -> None:
        while True:
            event = await self._backend.next_published()
            for subscriber in tuple(self._subscribers.get(event.channel, ())):
                if not subscriber.offer(event.message):
                    log.warning("dropping a subscriber of %s that fell behind", event.channel)
                    self._subscribers.get(event.channel, set()).discard(subscriber)
