"""Forwarding a channel's broadcasts to one client, and closing clients that fall behind.

One background task per connection sends each message of the connection's broker
subscription to its client. A client that cannot keep up (its bounded queue overflowed,
or one send has been stuck for :data:`SEND_TIMEOUT`) is closed with 1013 "try again
later": the frontend then reconnects and fetches what it missed. The handler's task is
interrupted, so the connection ends.

Why one task and not a sender plus a watcher per connection: an idle server holds
thousands of connections, and every task, event and timer is memory each of them pays
for. Stuck sends are found by one watchdog per event loop (:class:`_StuckSends`), and a
subscription the broker drops interrupts its own sender (:attr:`Subscriber.on_drop`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from quart import websocket

from pykcworkshop.chat.api.websockets.asgi import text_sender
from pykcworkshop.chat.api.websockets.closing import CloseCode, close_quietly
from pykcworkshop.chat.backplane.pubsub import Subscriber, SubscriberDropped
from pykcworkshop.utils import stop_task

log = logging.getLogger(__name__)

#: How long one send to a client may take before the client counts as stuck.
SEND_TIMEOUT = 10.0


class _Forwarder:
    """One connection's sender task, and when the send in progress began (loop time)."""

    __slots__ = ("gave_up", "since", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        #: Loop time the send in progress began, or None between sends.
        self.since: float | None = None
        #: Set when the sender was interrupted on purpose (stuck, or dropped mid-send).
        self.gave_up = False

    def give_up(self) -> None:
        """Interrupt the sender (a stuck send, or the broker dropped it mid-send)."""
        if self.task is not None and not self.gave_up:
            self.gave_up = True
            self.task.cancel()

    def dropped(self) -> None:
        """The broker dropped the subscription: interrupt a send in progress.

        A sender waiting for the next message needs no help: that read raises
        :class:`SubscriberDropped` by itself.
        """
        if self.since is not None:
            self.give_up()


class _StuckSends:
    """The forwarders of one event loop, checked every ``SEND_TIMEOUT / 2`` seconds.

    A timer, not a task, and only while there is a forwarder to check.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._forwarders: set[_Forwarder] = set()  # forwarding() always discards its own
        self._timer: asyncio.TimerHandle | None = None

    def add(self, forwarder: _Forwarder) -> None:
        """Watch ``forwarder`` until it is discarded."""
        self._forwarders.add(forwarder)
        if self._timer is None:
            self._timer = self._loop.call_later(SEND_TIMEOUT / 2, self._check)

    def discard(self, forwarder: _Forwarder) -> None:
        """Stop watching ``forwarder``."""
        self._forwarders.discard(forwarder)

    def _check(self) -> None:
        now = self._loop.time()
        for forwarder in list(self._forwarders):
            if forwarder.since is not None and now - forwarder.since >= SEND_TIMEOUT:
                log.info("a send to a websocket client has been stuck for %.0f s", SEND_TIMEOUT)
                forwarder.give_up()
        self._timer = self._loop.call_later(SEND_TIMEOUT / 2, self._check) if self._forwarders else None


_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _StuckSends] = weakref.WeakKeyDictionary()


def _watchdog() -> _StuckSends:
    loop = asyncio.get_running_loop()
    watchdog = _WATCHDOGS.get(loop)
    if watchdog is None:
        watchdog = _WATCHDOGS[loop] = _StuckSends(loop)
    return watchdog


async def _forward(
    subscription: Subscriber,
    forwarder: _Forwarder,
    on_close: Callable[[], None],
    handler: asyncio.Task[Any],
) -> None:
    """Send each broadcast to this client; end the connection when that stops working.

    A client that falls behind (its queue overflowed, or one send took over
    :data:`SEND_TIMEOUT`) is closed with 1013 "try again later"; any other failure with
    1011. Either way ``on_close`` is called and the handler is interrupted.
    """
    loop = asyncio.get_running_loop()
    send = text_sender()  # not websocket.send: Quart's per-frame work is most of a delivery
    try:
        async for message in subscription:
            # A timer per send would cost more than the send: the watchdog reads this.
            forwarder.since = loop.time()
            await send(message)
            forwarder.since = None
    except SubscriberDropped:
        pass
    except asyncio.CancelledError:
        if not forwarder.gave_up:
            raise  # forwarding() is over: the connection ends some other way
        asyncio.current_task().uncancel()  # type: ignore[union-attr]
    except Exception as error:
        log.error("forwarding broadcasts failed on %s", websocket.path, exc_info=error)
        await close_quietly(CloseCode.SERVER_ERROR, "internal error")
        on_close()
        handler.cancel()
        return
    log.info("closing a websocket on %s that fell behind", websocket.path)
    # Fell behind or stuck mid-send; otherwise the broker itself failed.
    slow = subscription.lagging or forwarder.since is not None
    await close_quietly(
        CloseCode.TRY_AGAIN_LATER,
        "too slow; please reconnect" if slow else "server busy; please reconnect",
    )
    on_close()
    handler.cancel()


class forwarding:
    """Forward ``subscription``'s messages to this client while the ``async with`` block runs.

    If forwarding has to close the connection, it calls ``on_close`` and cancels the task
    running the block. (A class with slots, not ``@asynccontextmanager``: one per open
    socket, and a generator-based one costs several hundred bytes more.)
    """

    __slots__ = ("_forwarder", "_on_close", "_subscription", "_watchdog")

    def __init__(self, subscription: Subscriber, *, on_close: Callable[[], None]) -> None:
        self._subscription = subscription
        self._on_close = on_close
        self._forwarder = _Forwarder()
        self._watchdog: _StuckSends | None = None

    async def __aenter__(self) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        forwarder = self._forwarder
        forwarder.task = asyncio.create_task(_forward(self._subscription, forwarder, self._on_close, handler))
        self._subscription.on_drop = forwarder.dropped
        self._watchdog = _watchdog()
        self._watchdog.add(forwarder)

    async def __aexit__(self, *_: object) -> None:
        self._subscription.on_drop = None
        if self._watchdog is not None:
            self._watchdog.discard(self._forwarder)
        await stop_task(self._forwarder.task)
