"""Forwarding a channel's broadcasts to one client, and closing clients that fall behind.

A background task sends each message of the connection's broker subscription to its
client. A client that cannot keep up (its bounded queue overflowed, or one send has been
stuck for :data:`SEND_TIMEOUT`) is closed with 1013 "try again later": the frontend then
reconnects and fetches what it missed. The handler's task is interrupted, so the
connection ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from quart import websocket

from pykcworkshop.chat.api.websockets.asgi import text_sender
from pykcworkshop.chat.api.websockets.closing import CloseCode, close_quietly
from pykcworkshop.chat.backplane.pubsub import Subscriber, SubscriberDropped
from pykcworkshop.utils import stop_task

log = logging.getLogger(__name__)

#: How long one send to a client may take before the client counts as stuck.
SEND_TIMEOUT = 10.0


class _SendClock:
    """When the send in progress started (loop time), or None between sends."""

    since: float | None = None


async def _send_each(subscription: Subscriber, clock: _SendClock) -> None:
    loop = asyncio.get_running_loop()
    send = text_sender()  # not websocket.send: Quart's per-frame work is most of a delivery
    async for message in subscription:
        # A timer per send would cost more than the send; _watch checks the clock instead.
        clock.since = loop.time()
        await send(message)
        clock.since = None


async def _watch(subscription: Subscriber, clock: _SendClock) -> None:
    """Return once the broker drops ``subscription`` or one send has taken SEND_TIMEOUT."""
    loop = asyncio.get_running_loop()
    while not subscription.dropped.is_set():
        with suppress(TimeoutError):
            async with asyncio.timeout(SEND_TIMEOUT / 2):
                await subscription.dropped.wait()
        if clock.since is not None and loop.time() - clock.since >= SEND_TIMEOUT:
            return


async def _forward(
    subscription: Subscriber, on_close: Callable[[], None], handler: asyncio.Task[Any]
) -> None:
    """Send each broadcast to this client; end the connection when that stops working.

    A client that falls behind (its queue overflowed while a send was stuck, or one send
    took over :data:`SEND_TIMEOUT`) is closed with 1013 "try again later"; any other
    failure with 1011. Either way ``on_close`` is called and the handler is interrupted.
    """
    clock = _SendClock()
    sending = asyncio.create_task(_send_each(subscription, clock))
    watching = asyncio.create_task(_watch(subscription, clock))
    try:
        await asyncio.wait((sending, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Also interrupts a send stuck on a client that stopped reading.
        sending.cancel()
        watching.cancel()
        await asyncio.gather(sending, watching, return_exceptions=True)
    error = None if sending.cancelled() else sending.exception()
    if error is None or isinstance(error, SubscriberDropped):
        log.info("closing a websocket on %s that fell behind", websocket.path)
        # Fell behind or stuck mid-send; otherwise the broker itself failed.
        slow = subscription.lagging or clock.since is not None
        await close_quietly(
            CloseCode.TRY_AGAIN_LATER,
            "too slow; please reconnect" if slow else "server busy; please reconnect",
        )
    else:
        log.error("forwarding broadcasts failed on %s", websocket.path, exc_info=error)
        await close_quietly(CloseCode.SERVER_ERROR, "internal error")
    on_close()
    handler.cancel()


@asynccontextmanager
async def forwarding(subscription: Subscriber, *, on_close: Callable[[], None]) -> AsyncIterator[None]:
    """Forward ``subscription``'s messages to this client while the ``async with`` block runs.

    If forwarding has to close the connection, it calls ``on_close`` and cancels the task
    running the block.
    """
    handler = asyncio.current_task()
    assert handler is not None
    forwarder = asyncio.create_task(_forward(subscription, on_close, handler))
    try:
        yield
    finally:
        await stop_task(forwarder)
