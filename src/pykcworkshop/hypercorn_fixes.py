"""Two fixes to hypercorn's websocket stream, applied only to the code they were written for.

hypercorn's ``WSStream`` (``hypercorn.protocol.ws_stream``, checked in 0.18.0) has two
flaws no ASGI app can work around, since the app never sees the stream:

1. **An ended websocket lives on for a ping interval.** With ``websocket_ping_interval``
   set, ``_send_pings`` loops ``while not self.closed`` around a plain sleep, so a closed
   connection keeps its task group, its tasks, ~130 KB and (for a client that vanished)
   its file descriptor until the sleep ends: 20 s with our server.toml. At 60 short
   connections a second that exhausts a 1,024-fd limit. Here the sleep also ends the
   moment the stream is marked closed, so everything is released at once; idle
   connections are still pinged on schedule.
2. **A shutdown cancels every open websocket** after ``graceful_timeout``: SIGTERM with
   2,000 sockets open logged 2,000 tracebacks (asyncio's stream callback reports each
   cancelled connection) and the clients saw 1006. Here, once the worker is told to stop,
   one line is logged and every open websocket gets a 1001 "going away" close frame; the
   clients answer, so the connections end well within the graceful timeout. (This rides
   on the ping task, so it needs ``websocket_ping_interval``, which server.toml sets.)
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
import weakref
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
#: Instance keys this module keeps on a stream (the ``closed`` flag and its wake-up event).
_CLOSED, _WAKE = "_pykc_closed", "_pykc_wake"


#: Streams whose ping task runs, told apart by worker context when that worker stops.
_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
#: The shutdown watcher of each worker context (one each; strong references keep them).
_WATCHERS: dict[int, asyncio.Task[None]] = {}
GOING_AWAY: Final = 1001


def source_digest(name: str) -> str:
    """Return the SHA-256 of the source of hypercorn's own ``WSStream.<name>``."""
    method = _ORIGINALS.get(name) or getattr(WSStream, name)
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()


class _ClosedFlag:
    """``WSStream.closed``: a plain flag, which also wakes the stream's ping task when set."""

    def __get__(self, stream: Any, owner: Any = None) -> Any:
        if stream is None:
            return self
        return stream.__dict__.get(_CLOSED, False)

    def __set__(self, stream: Any, value: bool) -> None:
        stream.__dict__[_CLOSED] = value
        wake = stream.__dict__.get(_WAKE)
        if value and wake is not None:
            wake.set()


async def _send_pings(self: Any) -> None:
    """Ping every ``websocket_ping_interval`` seconds until the stream closes, then return.

    When the worker stops, close with 1001 "going away" instead, and wait for the close.
    """
    wake = self.__dict__.setdefault(_WAKE, asyncio.Event())
    _LIVE.add(self)
    _watch_shutdown(self.context)
    try:
        going_away = False
        while not self.closed:
            if self.context.terminated.is_set():
                if not going_away:
                    going_away = True
                    await self._send_wsproto_event(
                        CloseConnection(code=GOING_AWAY, reason="server shutting down")
                    )
                    wake.clear()
            else:
                await self._send_wsproto_event(Ping())
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.config.websocket_ping_interval)
    finally:
        _LIVE.discard(self)


def _watch_shutdown(context: Any) -> None:
    """Start, once per worker context, the task that wakes every stream when it stops."""
    if id(context) not in _WATCHERS:
        task = asyncio.get_running_loop().create_task(_announce_shutdown(context))
        _WATCHERS[id(context)] = task
        task.add_done_callback(lambda _: _WATCHERS.pop(id(context), None))


async def _announce_shutdown(context: Any) -> None:
    await context.terminated.wait()
    streams = [stream for stream in _LIVE if stream.context is context and not stream.closed]
    if streams:
        log.info("shutting down: closing %d open websocket(s) with 1001 going away", len(streams))
    for stream in streams:
        stream.__dict__[_WAKE].set()


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
