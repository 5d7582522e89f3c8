"""Redis broker backend: share broker channels between processes and hosts.

:class:`RedisBackend` implements :class:`~.pubsub.BrokerBackend`:

* One dedicated Redis connection per process carries every SUBSCRIBE of that process
  (the front :class:`~.pubsub.Broker` subscribes a channel here only for its first local
  subscriber, and fans each event out locally).
* Publishing goes through a small, separate connection pool, so publishes never queue
  behind the reader (and RESP2 connections in pub/sub mode cannot PUBLISH at all).
* If the pub/sub connection is lost (Redis restarted, ``CLIENT KILL TYPE pubsub``, a
  network cut noticed by the heartbeat), a background task reconnects with exponential
  backoff and subscribes every channel again. Websocket clients stay connected; they
  miss whatever was published in between.
* A publish that fails (Redis down) is logged and dropped; it never raises into a
  handler.
* A conflation key travels in the payload: ``<key>\\0<message>``. No message holds a NUL
  (clients may not send one, and JSON escapes it), so the first NUL, when there is one,
  ends the key; a message without a key is published as it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from pykcworkshop.chat.backplane import _redis
from pykcworkshop.chat.backplane._redis import REDIS_ERRORS, RedisError
from pykcworkshop.chat.backplane.pubsub import Event
from pykcworkshop.utils import stop_task

log = logging.getLogger(__name__)
#: While messages are being dropped, log at most one line per this many seconds.
_DROP_REPORT_INTERVAL = 5.0


def envelope(message: str, key: str | None) -> str:
    """Return the Redis payload of ``message`` with its conflation key (if any).

    >>> envelope("{}", None), envelope("{}", "user:1"), unpack(envelope("{}", "user:1"))
    ('{}', 'user:1\\x00{}', ('{}', 'user:1'))
    """
    if key is None and "\0" not in message:
        return message
    if key is not None and "\0" in key:
        raise ValueError("a conflation key must not contain NUL")
    return f"{key or ''}\0{message}"


def unpack(payload: str) -> tuple[str, str | None]:
    """Return ``(message, key)`` of a payload :func:`envelope` made."""
    key, nul, message = payload.partition("\0")
    if not nul:
        return payload, None
    return message, key or None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class RedisBackend:
    """Broker backend over Redis pub/sub (``redis://`` or ``rediss://`` URLs).

    The timing attributes may be tuned on the instance before :meth:`connect` (tests
    shorten them): ``backoff_initial``/``backoff_max`` bound the reconnect delay,
    ``heartbeat_interval`` is how often an idle pub/sub connection is pinged (it is
    considered dead after three silent intervals), ``subscribe_timeout`` is how long
    :meth:`subscribe` waits for Redis to confirm a subscription.
    """

    backoff_initial = 0.1
    backoff_max = 5.0
    heartbeat_interval = 5.0
    subscribe_timeout = 5.0
    connect_timeout = 2.0
    command_timeout = 5.0

    def __init__(self, url: str) -> None:
        self.url = url
        #: Name of the pub/sub connection in ``CLIENT LIST`` (find or kill it there).
        self.client_name = f"pykc-broker-{os.getpid()}-{secrets.token_hex(3)}"
        # Always subscribed, so the connection is open (and watched) even with no rooms.
        self._control_channel = f"pykc:broker:{self.client_name}"
        self._channels: set[str] = set()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._published: asyncio.Queue[Event] = asyncio.Queue()
        #: Set by the broker: called with each event as the reader receives it, instead of
        #: queueing it for next_published() (see BrokerBackend).
        self.on_published: Callable[[Event], None] | None = None
        self._pubsub: PubSub | None = None
        self._io_lock = asyncio.Lock()
        self._live = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        #: How many times the pub/sub connection was (re)established; for tests/metrics.
        self.connections_made = 0
        #: How many publishes failed and were dropped.
        self.publish_failures = 0
        self._drops_reported = 0
        self._drop_report_at = 0.0

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the clients and start the pub/sub reader.

        Waits (at most ``connect_timeout``) for the first pub/sub connection; if Redis
        is down at start-up the reader keeps retrying in the background.
        """
        self._publisher = _redis.client(
            self.url, connect_timeout=self.connect_timeout, command_timeout=self.command_timeout
        )
        # No retries inside redis-py for the pub/sub connection: ``_run`` reconnects
        # (with backoff, logging, re-subscribing) when anything fails.
        self._subscriber = _redis.client(
            self.url,
            connect_timeout=self.connect_timeout,
            command_timeout=self.command_timeout,
            retries=0,
            backoff=False,
            client_name=self.client_name,
        )
        self._reader = asyncio.create_task(self._run(), name="redis broker reader")
        with suppress(TimeoutError):
            await asyncio.wait_for(self._live.wait(), self.connect_timeout)
        if not self._live.is_set():
            log.error("Redis broker at %s is not reachable yet; retrying", self._safe_url)

    async def disconnect(self) -> None:
        """Stop the reader and close every connection."""
        await stop_task(self._reader)
        self._reader = None
        await self._drop_pubsub()
        for client in (self._publisher, self._subscriber):
            if client is not None:
                with suppress(*REDIS_ERRORS):
                    await client.aclose()
        self._publisher = self._subscriber = None
        for waiters in self._confirmations.values():
            for waiter in waiters:
                waiter.cancel()
        self._confirmations.clear()

    # -- BrokerBackend -----------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Subscribe this process to ``channel``.

        While Redis is reachable this returns once Redis confirmed the subscription, so
        anything published afterwards is delivered. While it is not, the channel is
        remembered and subscribed as soon as the connection is back.
        """
        self._channels.add(channel)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, []).append(waiter)
        try:
            if not await self._send("subscribe", channel):
                return
            try:
                await asyncio.wait_for(asyncio.shield(waiter), self.subscribe_timeout)
            except TimeoutError:
                log.warning("Redis did not confirm the subscription to %s in time", channel)
        finally:
            waiters = self._confirmations.get(channel, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._confirmations.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        """Unsubscribe this process from ``channel`` (best effort while Redis is down)."""
        self._channels.discard(channel)
        await self._send("unsubscribe", channel)

    async def publish(self, channel: str, message: str, key: str | None = None) -> None:
        """Publish ``message`` to every process; a failure is logged, never raised.

        While the pub/sub connection is down (Redis unreachable) messages are dropped at
        once rather than each waiting for a connect timeout.
        """
        if self._publisher is None or not self._live.is_set():
            self._dropped(channel, "the Redis broker is not connected")
            return
        try:
            await self._publisher.publish(channel, envelope(message, key))
        except REDIS_ERRORS as exc:
            self._dropped(channel, f"Redis publish failed: {exc!r}")

    async def next_published(self) -> Event:
        """Wait for the next event received on a subscribed channel."""
        return await self._published.get()

    # -- internals -----------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Whether the pub/sub connection is up."""
        return self._live.is_set()

    @property
    def _safe_url(self) -> str:
        """The URL without credentials, for logs."""
        return _redis.safe_url(self.url)

    def _dropped(self, channel: str, reason: str) -> None:
        """Count a dropped message; log the first at once, then a summary every few seconds."""
        self.publish_failures += 1
        now = time.monotonic()
        if now < self._drop_report_at:
            return
        unreported = self.publish_failures - self._drops_reported
        log.error(
            "dropped a message to %s (%d dropped since the last report): %s", channel, unreported, reason
        )
        self._drops_reported = self.publish_failures
        self._drop_report_at = now + _DROP_REPORT_INTERVAL

    async def _send(self, command: str, channel: str) -> bool:
        """(Un)subscribe on the live pub/sub connection; False if there is none."""
        async with self._io_lock:
            pubsub = self._pubsub
            if pubsub is None or not self._live.is_set():
                return False
            try:
                if command == "subscribe":
                    await pubsub.subscribe(channel)
                else:
                    await pubsub.unsubscribe(channel)
            except REDIS_ERRORS as exc:
                # The reader notices the broken connection, reconnects and subscribes
                # every channel in ``self._channels`` again.
                log.warning("Redis broker could not %s %s: %r", command, channel, exc)
                return False
            return True

    async def _drop_pubsub(self) -> None:
        async with self._io_lock:
            self._live.clear()
            pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with suppress(*REDIS_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _run(self) -> None:
        """Keep one pub/sub connection up, reconnecting with exponential backoff."""
        delay = self.backoff_initial
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except REDIS_ERRORS as exc:
                log.warning("Redis broker connection lost (%r); reconnecting", exc)
            except Exception:
                # Never let the reader die: without it this process hears nothing.
                log.exception("Redis broker reader failed; reconnecting")
            finally:
                await self._drop_pubsub()
            if time.monotonic() - started > 2 * self.backoff_max:
                delay = self.backoff_initial  # it had been up for a while: retry quickly
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _session(self) -> None:
        """Connect, subscribe every known channel, then read until the connection fails."""
        assert self._subscriber is not None
        pubsub = self._subscriber.pubsub()
        async with self._io_lock:
            self._pubsub = pubsub
            channels = sorted(self._channels)
            await pubsub.subscribe(self._control_channel, *channels)
            self._live.set()
        self.connections_made += 1
        if self.connections_made > 1:
            log.warning(
                "Redis broker reconnected to %s; %d channel(s) subscribed again",
                self._safe_url,
                len(channels),
            )
        last_seen = last_ping = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=self.heartbeat_interval)
            now = time.monotonic()
            if message is not None:
                last_seen = now
                self._handle(message)
            elif now - last_seen > 3 * self.heartbeat_interval:
                raise RedisError("no answer to heartbeat pings")
            if now - max(last_seen, last_ping) >= self.heartbeat_interval:
                await pubsub.ping()
                last_ping = now

    def _handle(self, message: dict[str, Any]) -> None:
        kind = _text(message.get("type"))
        channel = _text(message.get("channel"))
        if kind == "message":
            if channel in self._channels:
                event = Event(channel, *unpack(_text(message.get("data"))))
                if self.on_published is None:
                    self._published.put_nowait(event)
                else:
                    self.on_published(event)
        elif kind == "subscribe":
            for waiter in self._confirmations.get(channel, ()):
                if not waiter.done():
                    waiter.set_result(None)
