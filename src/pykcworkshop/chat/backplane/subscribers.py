"""Subscriptions of the pub/sub broker: bounded, conflating queues, and listeners.

A :class:`Subscriber` is one websocket's queue of a channel's messages (see
:mod:`.pubsub` for how the broker fills it, drops it when it falls behind, and conflates
messages that carry a key); a :class:`Listener` hands each message to a callback instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class SubscriberDropped(Exception):
    """The broker stopped delivering to this subscriber; its client should reconnect."""


class SubscriberLagging(SubscriberDropped):
    """The subscriber fell too far behind and was dropped from its channel."""


class Subscriber:
    """One subscription's bounded queue of serialized messages.

    Iterate it (or call :meth:`get`) to read messages. Once the broker drops it, reading
    raises :class:`SubscriberDropped` at once, even with messages still queued, and
    :attr:`dropped` is set, so a consumer stuck elsewhere (e.g. in a slow send) can notice.
    A message offered with a conflation key replaces the pending one with the same key.
    """

    def __init__(self, channel: str, capacity: int) -> None:
        self.channel = channel
        self._capacity = capacity
        # Cells [message, key]; a replaced message's cell is emptied (message None) in place.
        self._pending: deque[list[str | None]] = deque()
        self._latest: dict[str, list[str | None]] = {}
        self._size = 0  # messages waiting (emptied cells do not count)
        self._ready = asyncio.Event()
        #: Set when the broker stops delivering to this subscriber.
        self.dropped = asyncio.Event()
        self._reason: SubscriberDropped | None = None

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
        if key is not None and (replaced := self._latest.pop(key, None)) is not None:
            replaced[0] = None
            self._size -= 1
        if self._size >= self._capacity:
            self.drop(SubscriberLagging(f"subscriber of {self.channel!r} fell behind"))
            return False
        cell: list[str | None] = [message, key]
        self._pending.append(cell)
        self._size += 1
        if key is not None:
            self._latest[key] = cell
        self._ready.set()
        return True

    def drop(self, reason: SubscriberDropped) -> None:
        """Stop delivering: discard the backlog and make the next read raise ``reason``."""
        if self._reason is not None:
            return
        self._reason = reason
        self._pending.clear()
        self._latest.clear()
        self._size = 0
        self._ready.set()  # wake a reader blocked on the empty queue
        self.dropped.set()

    async def get(self) -> str:
        """Return the next message; raise :class:`SubscriberDropped` once dropped."""
        while self._reason is None:
            while self._pending:
                cell = self._pending.popleft()
                message, key = cell
                if message is None:  # replaced by a newer message with its key
                    continue
                self._size -= 1
                if key is not None and self._latest.get(key) is cell:
                    del self._latest[key]
                return message
            self._ready.clear()
            await self._ready.wait()
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
