"""Three fixes to hypercorn's websocket stream, applied only to the code they were written for.

hypercorn's ``WSStream`` (``hypercorn.protocol.ws_stream``, checked in 0.18.0) has three
flaws no ASGI app can work around, since the app never sees the stream:

1. **An ended websocket lives on for a ping interval.** With ``websocket_ping_interval``
   set, ``_send_pings`` loops ``while not self.closed`` around a plain sleep, so a closed
   connection keeps its task group, its tasks, ~130 KB and (for a client that vanished)
   its file descriptor until the sleep ends: 20 s with our server.toml. At 60 short
   connections a second that exhausts a 1,024-fd limit. Here no connection has a ping
   task: one pinger per worker pings every open websocket on schedule, and a stream
   leaves it the moment it is marked closed, so everything is released at once (and an
   idle connection costs no task, timer or event for its pings).
2. **A shutdown cancels every open websocket** after ``graceful_timeout``: SIGTERM with
   2,000 sockets open logged 2,000 tracebacks (asyncio's stream callback reports each
   cancelled connection) and the clients saw 1006. Here, once the worker is told to stop,
   one line is logged and every open websocket gets a 1001 "going away" close frame; the
   clients answer, so the connections end well within the graceful timeout. (This rides
   on the pinger, so it needs ``websocket_ping_interval``, which server.toml sets.)
3. **An invalid UTF-8 text frame ends the connection without a close frame** (the client
   sees 1006). wsproto reports a frame it cannot parse as a ``CloseConnection`` event with
   the right code (1007 for bad UTF-8, 1002 for bad framing) while the connection is still
   open; hypercorn answers only close frames the peer sent. Here that case sends the close
   frame with wsproto's code, as RFC 6455 section 7.1.7 asks.

:func:`install` replaces the two methods only if their source is exactly what these fixes
were written against (:data:`REVIEWED`); otherwise it logs a warning and changes nothing.
``tests/test_hypercorn_fixes.py`` fails when hypercorn's code changes, so an upgrade is
reviewed instead of silently losing (or breaking) a fix.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from contextlib import suppress
from typing import Any, Final

from hypercorn.protocol.events import StreamClosed
from hypercorn.protocol.ws_stream import FrameTooLargeError, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

log = logging.getLogger(__name__)

#: SHA-256 of the source of each ``WSStream`` method replaced here, as reviewed (0.18.0).
REVIEWED: Final = {
    "_send_pings": "4721ce45cbdf91e6e0a96dc9fc2e64d7e2dc13a710b1a075903c80c9c13e2aec",
    "_handle_events": "b90f3f595ff9fd4722f15769e9c40d113838a1deb6f3ecc0f63dc8ffc1d7f8e8",
}
_ORIGINALS: dict[str, Any] = {}
#: Instance key this module keeps on a stream: its ``closed`` flag.
_CLOSED = "_pykc_closed"


#: The pinger of each worker context (one each; it holds that worker's open streams).
_PINGERS: dict[int, _Pinger] = {}
GOING_AWAY: Final = 1001
#: Seconds a ping (or the shutdown's close frame) may wait to be written. A client that
#: stopped reading would otherwise leave the send stuck holding the connection's send
#: lock, and then the close frame the app sends it (1013 "too slow") could never go out.
SEND_TIMEOUT: Final = 0.5


def source_digest(name: str) -> str:
    """Return the SHA-256 of the source of hypercorn's own ``WSStream.<name>``."""
    method = _ORIGINALS.get(name) or getattr(WSStream, name)
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()


class _ClosedFlag:
    """``WSStream.closed``: a plain flag; setting it also stops pinging the stream."""

    def __get__(self, stream: Any, owner: Any = None) -> Any:
        if stream is None:
            return self
        return stream.__dict__.get(_CLOSED, False)

    def __set__(self, stream: Any, value: bool) -> None:
        stream.__dict__[_CLOSED] = value
        if value and (pinger := _PINGERS.get(id(stream.context))) is not None:
            pinger.streams.discard(stream)


class _Pinger:
    """Pings every open websocket of one worker every ``interval`` seconds, from one task.

    When the worker stops, it closes them all with 1001 "going away" instead. One task for
    the whole worker rather than hypercorn's ping task per connection: an idle connection
    then costs no task, timer or event for its pings.
    """

    def __init__(self, context: Any, interval: float) -> None:
        self.streams: set[Any] = set()
        self._context = context
        self._interval = interval
        self._sending: set[asyncio.Task[None]] = set()
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._task.add_done_callback(lambda _: _PINGERS.pop(id(context), None))

    async def _run(self) -> None:
        while not self._context.terminated.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._context.terminated.wait(), self._interval)
            if not self._context.terminated.is_set():
                for stream in self._open_streams():
                    self._send(stream, Ping())
        streams = self._open_streams()
        if streams:
            log.info("shutting down: closing %d open websocket(s) with 1001 going away", len(streams))
        for stream in streams:
            self._send(stream, CloseConnection(code=GOING_AWAY, reason="server shutting down"))
        while self._sending:  # let the close frames go out before this worker's loop ends
            await asyncio.wait(tuple(self._sending))

    def _open_streams(self) -> list[Any]:
        return [stream for stream in self.streams if not stream.closed]

    def _send(self, stream: Any, event: Any) -> None:
        # A task per send: one client that stopped reading must not hold up the others.
        task = asyncio.get_running_loop().create_task(_send_quietly(stream, event))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)


async def _send_quietly(stream: Any, event: Any) -> None:
    # The connection may end meanwhile, or be stuck (SEND_TIMEOUT): nothing to do then.
    with suppress(Exception):
        async with asyncio.timeout(SEND_TIMEOUT):
            await stream._send_wsproto_event(event)


async def _send_pings(self: Any) -> None:
    """Hand this stream to its worker's pinger (:class:`_Pinger`) and return at once."""
    pinger = _PINGERS.get(id(self.context))
    if pinger is None:
        pinger = _PINGERS[id(self.context)] = _Pinger(self.context, self.config.websocket_ping_interval)
    if self.context.terminated.is_set():
        await _send_quietly(self, CloseConnection(code=GOING_AWAY, reason="server shutting down"))
    elif not self.closed:
        await _send_quietly(self, Ping())
        pinger.streams.add(self)


async def _handle_events(self: Any) -> None:
    """hypercorn's ``_handle_events``, plus a close frame for frames wsproto cannot parse."""
    for event in self.connection.events():
        if isinstance(event, Message):
            try:
                self.buffer.extend(event)
            except FrameTooLargeError:
                await self._send_wsproto_event(CloseConnection(code=CloseReason.MESSAGE_TOO_BIG))
                break

            if event.message_finished:
                await self.app_put(self.buffer.to_message())
                self.buffer.clear()
        elif isinstance(event, Ping):
            await self._send_wsproto_event(event.response())
        elif isinstance(event, CloseConnection):
            if self.connection.state == ConnectionState.REMOTE_CLOSING:
                await self._send_wsproto_event(event.response())
            elif self.connection.state == ConnectionState.OPEN:
                # Not the peer's close: wsproto could not parse a frame (e.g. 1007).
                with suppress(LocalProtocolError):
                    await self._send_wsproto_event(CloseConnection(code=event.code, reason=event.reason))
            await self.send(StreamClosed(stream_id=self.stream_id))


def install() -> bool:
    """Apply both fixes to ``WSStream`` if its code is the reviewed one; return whether applied."""
    if isinstance(WSStream.__dict__.get("closed"), _ClosedFlag):
        return True
    changed = [name for name, digest in REVIEWED.items() if source_digest(name) != digest]
    if changed:
        log.warning(
            "hypercorn's WSStream.%s changed since it was reviewed; ended websockets may linger "
            "for a ping interval and bad UTF-8 may close without 1007 (see pykcworkshop.hypercorn_fixes)",
            ", ".join(changed),
        )
        return False
    for name in REVIEWED:
        _ORIGINALS[name] = getattr(WSStream, name)
    WSStream.closed = _ClosedFlag()  # type: ignore[assignment]
    WSStream._send_pings = _send_pings  # type: ignore[method-assign]
    WSStream._handle_events = _handle_events  # type: ignore[method-assign]
    return True
