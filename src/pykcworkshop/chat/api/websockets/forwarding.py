"""Forwarding a channel's broadcasts to one client, and closing clients that fall behind.

Each message of the connection's broker subscription goes to its client. While the
client keeps up, the task that publishes the message writes it (:meth:`_Forwarder.send_now`,
through :mod:`.frame_writer`): no task wakes per recipient, as with ``websockets.broadcast()``.
A client that is behind has its messages queued, and one background task per connection
sends them in order. A client that cannot keep up (its bounded queue overflowed,
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
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from quart import websocket

from pykcworkshop.chat.api.websockets.asgi import server_send, text_sender
from pykcworkshop.chat.api.websockets.closing import CloseCode, close_quietly
from pykcworkshop.chat.api.websockets.frame_writer import frame_writer
from pykcworkshop.chat.backplane.pubsub import Subscriber, SubscriberDropped
from pykcworkshop.utils import stop_task

log = logging.getLogger(__name__)

#: How long one send to a client may take before the client counts as stuck.
SEND_TIMEOUT = 10.0


class _Forwarder:
    """One connection's sender: its task, and the send in progress.

    Sends happen in two places. While the task waits for a message, the broker's
    publishing task sends it at once through :meth:`send_now` (the subscription's
    :attr:`~Subscriber.direct` hook): for a 1,000-member room that is a thousand task
    wake-ups saved per message, the largest share of a delivery's cost. A send that has
    to wait (the client's socket buffer is full) is finished by a *tail* task, and the
    sender task awaits that tail before it sends the next message, so order is kept.
    Otherwise the task sends what was queued meanwhile.
    """

    __slots__ = ("error", "gave_up", "send", "since", "tail", "task", "write")

    def __init__(
        self,
        send: Callable[[str], Coroutine[Any, Any, None]],
        write: Callable[[str], bool] | None = None,
    ) -> None:
        self.send = send
        #: Writes a frame at once when nothing else is being written (see :mod:`.frame_writer`).
        self.write = write
        self.task: asyncio.Task[None] | None = None
        #: The task finishing a direct send that had to wait, if one is in progress.
        self.tail: asyncio.Task[None] | None = None
        #: Loop time the send in progress began, or None between sends.
        self.since: float | None = None
        #: Set when the sender was interrupted on purpose (stuck, dropped mid-send, failed).
        self.gave_up = False
        #: What a direct send raised, for the sender task to report.
        self.error: BaseException | None = None

    def send_now(self, message: str) -> bool:
        """Send ``message`` from the calling (publishing) task; False: queue it instead.

        Runs the send coroutine until it first has to wait, which for a client that keeps
        up is never; if it does wait, a tail task finishes it.
        """
        if self.tail is not None or self.gave_up:
            return False  # a send is in progress (or over): the message waits its turn
        try:
            if self.write is not None and self.write(message):
                return True
            coroutine = self.send(message)
            awaited = coroutine.send(None)
        except StopIteration:
            return True
        except Exception as error:  # never into the publisher: it serves other clients
            self.error = error
            self.give_up()
            return True
        self.since = asyncio.get_running_loop().time()
        self.tail = asyncio.create_task(self._finish(coroutine, awaited))
        return True

    async def _finish(self, coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
        try:
            await _Resumed(coroutine, awaited)
        except Exception as error:
            self.error = error
            self.give_up()
            return
        # (Not on cancellation: give_up() cancelled it, and `since` tells why.)
        self.since = None
        self.tail = None

    def give_up(self) -> None:
        """Interrupt the sender (a stuck or failed send, or the broker dropped it mid-send)."""
        if self.task is not None and not self.gave_up:
            self.gave_up = True
            if self.tail is not None:
                self.tail.cancel()
            self.task.cancel()

    def dropped(self) -> None:
        """The broker dropped the subscription: interrupt a send in progress.

        A sender waiting for the next message needs no help: that read raises
        :class:`SubscriberDropped` by itself.
        """
        if self.since is not None:
            self.give_up()


class _Resumed:
    """Awaiting this resumes ``coroutine``, which is suspended on ``awaited``, to its end.

    ``coroutine.send(None)`` ran the coroutine until it yielded ``awaited`` (a future, to
    the event loop); the task that awaits this object yields that same future, and from
    then on passes whatever the loop sends or throws in to the coroutine.
    """

    __slots__ = ("_awaited", "_coroutine")

    def __init__(self, coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
        self._coroutine = coroutine
        self._awaited = awaited

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, awaited = self._coroutine, self._awaited
        while True:
            try:
                sent = yield awaited
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as thrown:  # e.g. CancelledError: into the coroutine
                try:
                    awaited = coroutine.throw(thrown)
                except StopIteration:
                    return
            else:
                try:
                    awaited = coroutine.send(sent)
                except StopIteration:
                    return


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
    send, write = forwarder.send, forwarder.write
    try:
        async for message in subscription:
            if forwarder.tail is not None:
                await forwarder.tail  # a direct send still in progress goes out first
            if write is not None and write(message):
                continue
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
        forwarder.error = error
    if forwarder.error is not None:
        log.error("forwarding broadcasts failed on %s", websocket.path, exc_info=forwarder.error)
        await close_quietly(CloseCode.SERVER_ERROR, "internal error")
    else:
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
        self._forwarder: _Forwarder | None = None
        self._watchdog: _StuckSends | None = None

    async def __aenter__(self) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        # Not websocket.send where we can: Quart's per-frame work is most of a delivery, and
        # it needs this connection's context, so the publishing task could not send with it.
        lean = text_sender()
        write = frame_writer(server_send()) if lean is not None else None
        forwarder = self._forwarder = _Forwarder(lean or websocket.send, write)
        forwarder.task = asyncio.create_task(_forward(self._subscription, forwarder, self._on_close, handler))
        self._subscription.on_drop = forwarder.dropped
        if lean is not None:
            self._subscription.direct = forwarder.send_now
        self._watchdog = _watchdog()
        self._watchdog.add(forwarder)

    async def __aexit__(self, *_: object) -> None:
        self._subscription.on_drop = None
        self._subscription.direct = None
        forwarder = self._forwarder
        if forwarder is None:
            return
        if self._watchdog is not None:
            self._watchdog.discard(forwarder)
        await stop_task(forwarder.task)
        await stop_task(forwarder.tail)
