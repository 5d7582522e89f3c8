"""The app's ASGI websocket connection class: lean, and the last frames before a disconnect count.

Quart runs each websocket handler in a task of its own, beside a task that copies the
client's frames into an unbounded queue, and cancels the handler as soon as the client
disconnects, even when frames the client sent just before leaving still wait in that
queue: a message typed right before closing the tab would be lost. This connection class
instead runs the handler in the ASGI server's task and has ``websocket.receive()`` read
the server's own (bounded) receive channel directly; a disconnect is returned, after the
last frame, as :data:`CLIENT_GONE`, at which the handler returns (see
``ClientSocket.text_frames`` in :mod:`.socket`). Two tasks and a queue fewer per
connection is memory every idle connection saves. The app factory installs it as
``app.asgi_websocket_class``.

Flow control comes from hypercorn: its receive channel holds ``max_app_queue_size``
frames (10), and while it is full hypercorn stops reading the socket, so TCP holds a
client that pipelines faster than its handler answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final

from quart import websocket
from quart.asgi import ASGIWebsocketConnection
from quart.signals import websocket_received


class _ClientGone(str):
    """Type of the marker :func:`websocket.receive` returns once the client has left."""


#: Returned by ``websocket.receive()`` after the client's last frame. A ``str`` subclass
#: so it fits the receive queue's type; compare with ``is``.
CLIENT_GONE: Final = _ClientGone("")


class ClientFrames:
    """The client's frames, read straight from the ASGI server's receive channel.

    Stands where Quart keeps its queue (Quart hands ``queue.get`` to the websocket as its
    ``receive``): :meth:`get` returns the next text or bytes frame, then :data:`CLIENT_GONE`
    once the client has left, and again on every later call.
    """

    __slots__ = ("_gone", "receive")

    def __init__(self) -> None:
        self.receive: Callable[[], Awaitable[Any]] | None = None  # set by the connection
        self._gone = False

    async def get(self) -> str | bytes:
        """Return the client's next frame, or :data:`CLIENT_GONE` once it disconnected."""
        assert self.receive is not None
        while not self._gone:
            event = await self.receive()
            if event["type"] == "websocket.receive":
                message: str | bytes = event.get("bytes") or event["text"]
                await websocket_received.send_async(message)
                return message
            if event["type"] == "websocket.disconnect":
                self._gone = True
        return CLIENT_GONE


class DrainingWebsocketConnection(ASGIWebsocketConnection):
    """Quart's ASGI websocket connection, run in the server's task with direct receives:
    a disconnect reaches the handler after the client's last frame (:class:`ClientFrames`)."""

    def __init__(self, app: Any, scope: Any) -> None:
        super().__init__(app, scope)
        self.queue = ClientFrames()  # type: ignore[assignment]

    async def __call__(self, receive: Any, send: Any) -> None:
        """Run the handler in this (the server's) task; it reads ``receive`` itself."""
        self.queue.receive = receive  # type: ignore[attr-defined]
        await self.handle_websocket(self._create_websocket_from_scope(send), send)

    def _create_websocket_from_scope(self, send: Any) -> Any:
        current = super()._create_websocket_from_scope(send)
        # For text_sender(): the server's own send callable, next to Quart's wrapper of it.
        setattr(current, _ASGI_SEND, send)
        return current


_ASGI_SEND: Final = "_pykc_asgi_send"


def server_send() -> Any | None:
    """Return the ASGI server's own ``send`` for this websocket, or None (not served by us)."""
    # (The proxy's object, not the proxy: the attribute was set on the object.)
    return getattr(websocket._get_current_object(), _ASGI_SEND, None)  # type: ignore[attr-defined]


def text_sender() -> Callable[[str], Coroutine[Any, Any, None]] | None:
    """Return a function that sends one text frame on this (accepted) websocket, lean.

    For the broadcast hot path: Quart's ``websocket.send`` yields to the loop
    (``sleep(0)``), checks ``accept()`` and fires the ``websocket_sent`` signal on every
    frame; this calls the ASGI server's ``send`` directly, and needs no request context,
    so any task may call it. None where the connection is not served through
    :class:`DrainingWebsocketConnection` (the app factory installs it, for hypercorn and
    Quart's test client alike): use ``websocket.send`` there.
    """
    send = server_send()
    if send is None:
        return None

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "bytes": None, "text": text})

    return send_text
