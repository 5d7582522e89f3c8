"""Writing a broadcast frame to a client at once, the way ``websockets.broadcast()`` does.

Through ASGI, every frame hypercorn sends climbs down five coroutines (``app_send``,
``_send_wsproto_event``, ``stream_send``, ``protocol_send``, the connection's send lock and
``drain()``), although none of them has to wait while the client keeps up: in the fan-out
profile (docs/performance.md) that chain is most of a delivery's cost. A
:func:`frame_writer` does the same work without the chain, for a connection that nothing
else is writing to: it frames the text with the connection's own wsproto state (so
permessage-deflate, when on, stays in step) and hands the bytes to the transport.

A server's frames are not masked, so on a connection without extensions (compression is
off by default) a frame is the same bytes for every recipient: :func:`text_frame` builds
them once per broadcast message (the last message's frame is kept), and the writer hands
those bytes to each transport without wsproto. With permessage-deflate on, each
connection's own wsproto state compresses the frame.

It declines (returns False) whenever the ASGI path could have to wait or has something
to say: another frame is being written or waits for the send lock (it was framed
already; writing past it would reorder frames), the transport's buffer is above its
high-water mark (the client is slow: the caller's queue and ``drain()`` take over), or
the connection is closing. The caller then sends through ASGI as usual.

It reaches into hypercorn's objects (an ASGI ``send`` is ``WSStream.app_send``, its
``send`` is ``H11Protocol.stream_send``, whose ``send`` is ``TCPServer.protocol_send``),
checked against the versions in :data:`HYPERCORN_VERSIONS`; anything else (HTTP/2,
another server, Quart's test client) gets None and the ASGI path.
``tests/compat/test_frame_writer.py`` fails when that shape changes.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any, Final

from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import TextMessage
from wsproto.utilities import LocalProtocolError

#: hypercorn minor versions whose send chain this was checked against (pyproject pins them).
HYPERCORN_VERSIONS: Final = ("0.17", "0.18")


def frame_writer(asgi_send: Any) -> Callable[[str], bool] | None:
    """Return ``write(text) -> bool`` for the connection behind hypercorn's ``asgi_send``.

    ``write`` sends one text frame now and returns True, or returns False (nothing
    written) when the frame must go through ``asgi_send`` instead. None when
    ``asgi_send`` is not hypercorn's HTTP/1.1 websocket send.
    """
    stream = getattr(asgi_send, "__self__", None)
    if not isinstance(stream, WSStream):
        return None
    protocol = getattr(stream.send, "__self__", None)
    if not isinstance(protocol, H11Protocol):
        return None
    server = getattr(protocol.send, "__self__", None)
    if not isinstance(server, TCPServer):
        return None
    return _Writer(stream, server).write


#: The last text framed by :func:`text_frame`, and its frame (a broadcast frames it once).
_last: list[Any] = [None, b""]


def text_frame(text: str) -> bytes:
    """Return the RFC 6455 frame of ``text`` as a server sends it: FIN, text, unmasked."""
    last = _last
    if text is last[0]:  # the same message object, to the next recipient
        return last[1]  # type: ignore[no-any-return]
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    frame = header + payload
    last[0], last[1] = text, frame
    return frame


class _Writer:
    """Writes text frames on one hypercorn websocket while nothing else is writing."""

    __slots__ = ("_high_water", "_lock", "_plain", "_stream", "_transport")

    def __init__(self, stream: WSStream, server: TCPServer) -> None:
        self._stream = stream
        self._lock: asyncio.Lock = server.send_lock
        self._transport: asyncio.WriteTransport = server.writer.transport
        # Above it the transport pauses its protocol, and the ASGI path waits in drain().
        self._high_water = self._transport.get_write_buffer_limits()[1]
        # No extension (no compression) negotiated: frames are the same for every client.
        self._plain = not stream.connection._proto.extensions

    def write(self, text: str) -> bool:
        """Send ``text`` as one frame now; False if it has to go through ASGI instead."""
        stream, lock, transport = self._stream, self._lock, self._transport
        if (
            lock.locked()
            # Woken waiters still count: their frame is framed and next in line.
            or lock._waiters
            or stream.closed
            or stream.state != ASGIWebsocketState.CONNECTED
            or transport.is_closing()
            or transport.get_write_buffer_size() > self._high_water
        ):
            return False
        if self._plain:
            if stream.connection.state is not ConnectionState.OPEN:
                return True  # the websocket is closing: hypercorn drops such frames as well
            transport.write(text_frame(text))
            return True
        try:
            data = stream.connection.send(TextMessage(data=text))
        except LocalProtocolError:
            return True
        transport.write(data)
        return True
