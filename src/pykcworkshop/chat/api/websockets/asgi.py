"""The app's ASGI websocket connection class: the last frames before a disconnect count too.

Quart cancels a websocket handler as soon as the client disconnects, even when frames the
client sent just before leaving still wait in the connection's queue: a message typed
right before closing the tab would be lost. This connection class queues
:data:`CLIENT_GONE` instead and gives the handler :data:`DRAIN_TIMEOUT` seconds to work
through what is queued; the handler returns at ``CLIENT_GONE`` (see
``ClientSocket.text_frames`` in :mod:`.socket`), which normally ends the connection well
before that. The app factory installs it as ``app.asgi_websocket_class``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from quart import websocket
from quart.asgi import ASGIWebsocketConnection
from quart.signals import websocket_received

#: Seconds a handler may keep working on queued frames after the client disconnected.
DRAIN_TIMEOUT: Final = 5.0
#: Frames received but not yet read by the handler. Quart's queue is unbounded, so a client
#: pipelining requests faster than its handler answers them would fill memory; once this
#: queue is full we stop reading, and hypercorn (its own queue full too) stops reading the
#: socket, so TCP flow control holds the client back.
RECEIVE_QUEUE_SIZE: Final = 16


class _ClientGone(str):
    """Type of the marker :func:`websocket.receive` returns once the client has left."""


#: Returned by ``websocket.receive()`` after the client's last frame. A ``str`` subclass
#: so it fits the receive queue's type; compare with ``is``.
CLIENT_GONE: Final = _ClientGone("")


class DrainingWebsocketConnection(ASGIWebsocketConnection):
    """Quart's ASGI websocket connection, but a disconnect is queued after the last frame,
    and the receive queue is bounded (:data:`RECEIVE_QUEUE_SIZE`)."""

    def __init__(self, app: Any, scope: Any) -> None:
        super().__init__(app, scope)
        self.queue = asyncio.Queue(maxsize=RECEIVE_QUEUE_SIZE)

    def _create_websocket_from_scope(self, send: Any) -> Any:
        current = super()._create_websocket_from_scope(send)
        # For text_sender(): the server's own send callable, next to Quart's wrapper of it.
        setattr(current, _ASGI_SEND, send)
        return current

    async def handle_messages(self, receive: Any) -> None:
        """Queue each frame, then :data:`CLIENT_GONE`; wait for the handler to drain."""
        while True:
            event = await receive()
            if event["type"] == "websocket.receive":
                message = event.get("bytes") or event["text"]
                await websocket_received.send_async(message)
                await self.queue.put(message)
            elif event["type"] == "websocket.disconnect":
                await self.queue.put(CLIENT_GONE)
                # Returning cancels the handler, so wait: the handler normally finishes
                # first, which cancels this task.
                await asyncio.sleep(DRAIN_TIMEOUT)
                return


_ASGI_SEND: Final = "_pykc_asgi_send"


def text_sender() -> Callable[[str], Awaitable[None]]:
    """Return a function that sends one text frame on this (accepted) websocket, lean.

    For the broadcast hot path: Quart's ``websocket.send`` yields to the loop
    (``sleep(0)``), checks ``accept()`` and fires the ``websocket_sent`` signal on every
    frame; this calls the ASGI server's ``send`` directly. Only for connections served
    through :class:`DrainingWebsocketConnection` (hypercorn); elsewhere (Quart's test
    client) it is ``websocket.send``.
    """
    # (The proxy's object, not the proxy: the attribute was set on the object.)
    send = getattr(websocket._get_current_object(), _ASGI_SEND, None)  # type: ignore[attr-defined]
    if send is None:
        return websocket.send

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "bytes": None, "text": text})

    return send_text
