"""Subscriptions of the pub/sub broker: bounded, conflating queues, and listeners.

A :class:`Subscriber` is one websocket's queue of a channel's messages (see
:mod:`.pubsub` for how the broker fills it, drops it when it falls behind, and conflates
messages that carry a key); a :class:`Listener` hands each message to a callback instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class SubscriberDropped(Exception):
    """The broker stopped delivering to this subscriber; its client should reconnect."""


class SubscriberLagging(SubscriberDropped):
    """The subscriber fell too far behind and was dropped from its channel."""


class Subscriber:
    """One subscription's bounded queue of serialized messages.

    Iterate it (or call :meth:`get`) to read messages. Once the broker drops it, reading
    raises :class:`SubscriberDropped` at once, even with messages still queued,
    :attr:`is_dropped` turns true and :attr:`on_drop` is called, so a consumer stuck
    elsewhere (e.g. in a slow send) can be stopped. A message offered with a conflation
    key replaces the pending one with the same key.

    A consumer may also take messages as they are offered (:attr:`direct`): while its
    reader waits on an empty queue, a message goes to ``direct`` first, in the offering
    task, and is queued only if ``direct`` declines it. Waking the reader's task costs
    more than a send does, so the broadcast path hands each frame over this way.
    """

    # Thousands of these live at once, two per idle socket: slots, no asyncio.Event (each
    # holds an empty deque, 760 bytes) and no deque: a reader's future exists only while
    # it waits, and the queue is a list (at most `capacity` cells, usually zero or one).
    __slots__ = (
        "_capacity",
        "_event",
        "_latest",
        "_pending",
        "_reason",
        "_size",
        "_waiter",
        "channel",
        "direct",
        "on_drop",
    )

    def __init__(self, channel: str, capacity: int) -> None:
        self.channel = channel
        #: Called once when the broker drops this subscriber (e.g. to interrupt a stuck send).
        self.on_drop: Callable[[], None] | None = None
        #: Takes a message while the reader waits on an empty queue; returns False to
        #: have it queued instead (see the class docstring).
        self.direct: Callable[[str], bool] | None = None
        self._capacity = capacity
        # Cells [message, key]; a replaced message's cell is emptied (message None) in place.
        self._pending: list[list[str | None]] = []
        self._latest: dict[str, list[str | None]] | None = None  # made on the first key
        self._size = 0  # messages waiting (emptied cells do not count)
        self._waiter: asyncio.Future[None] | None = None
        self._reason: SubscriberDropped | None = None
        self._event: asyncio.Event | None = None

    @property
    def is_dropped(self) -> bool:
        """Whether the broker stopped delivering to this subscriber."""
        return self._reason is not None

    @property
    def dropped(self) -> asyncio.Event:
        """An event set once the broker drops this subscriber (made on first use)."""
        if self._event is None:
            self._event = asyncio.Event()
            if self._reason is not None:
                self._event.set()
        return self._event

    @property
    def lagging(self) -> bool:
        """Whether this subscriber was dropped for falling behind."""
        return isinstance(self._reason, SubscriberLagging)

    def offer(self, message: str, key: str | None = None) -> bool:
        """Queue ``message`` without waiting; return False if dropped (now or before).

        With ``key``, a pending message with the same key leaves the queue first.
        """
        if self._reason is not None:
            return False
        # Nothing is queued and the reader waits: nothing to conflate or keep order with.
        if self._waiter is not None and self.direct is not None and self.direct(message):
            return True
        if key is not None and self._latest and (replaced := self._latest.pop(key, None)) is not None:
            replaced[0] = None
            self._size -= 1
        if self._size >= self._capacity:
            self.drop(SubscriberLagging(f"subscriber of {self.channel!r} fell behind"))
            return False
        cell: list[str | None] = [message, key]
        self._pending.append(cell)
        self._size += 1
        if key is not None:
            if self._latest is None:
                self._latest = {}
            self._latest[key] = cell
        self._wake()
        return True

    def drop(self, reason: SubscriberDropped) -> None:
        """Stop delivering: discard the backlog and make the next read raise ``reason``."""
        if self._reason is not None:
            return
        self._reason = reason
        self._pending.clear()
        self._latest = None
        self._size = 0
        self._wake()  # a reader blocked on the empty queue
        if self._event is not None:
            self._event.set()
        if self.on_drop is not None:
            self.on_drop()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> str:
        """Return the next message; raise :class:`SubscriberDropped` once dropped."""
        while self._reason is None:
            while self._pending:
                cell = self._pending.pop(0)
                message, key = cell
                if message is None:  # replaced by a newer message with its key
                    continue
                self._size -= 1
                if key is not None and self._latest is not None and self._latest.get(key) is cell:
                    del self._latest[key]
                return message
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:  # cancelled while waiting
                    self._waiter = None
        raise self._reason.with_traceback(None)

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> str:
        return await self.get()


class Listener(Subscriber):
    """A subscription that hands each message to a callback at once instead of queueing it.

    For process-wide consumers of rare events (e.g. "close this user's sockets"): no task
    waits on it, and the callback must not block. A backend failure does not end it.
    """

    __slots__ = ("_callback",)

    def __init__(self, channel: str, callback: Callable[[str], None]) -> None:
        super().__init__(channel, capacity=1)
        self._callback = callback

    def offer(self, message: str, key: str | None = None) -> bool:
        """Hand ``message`` to the callback; a failing callback is logged, never raised."""
        try:
            self._callback(message)
        except Exception:
            log.exception("listener of %s failed", self.channel)
        return True

    def drop(self, reason: SubscriberDropped) -> None:
        """Listeners have no backlog to fall behind on: keep listening."""
