"""The connection runtime shared by the six handlers: :func:`serve` and :class:`ClientSocket`.

After the handshake guard (:mod:`.handshake`) admitted a client, :func:`serve` accepts and
runs the connection: it forwards the channel's broadcasts to this client in a background
task (:mod:`.forwarding`), hands the handler the client's frames (rate limited), and turns
bad input into ``{"error": ...}`` frames. A client that keeps misbehaving is closed with
1008, one that cannot keep up with its room with 1013, and a handler crash closes only its
own connection, with 1011. :func:`present` counts member-status connections, so the last
one to close can announce "Offline".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, nullcontext
from typing import Any

from quart import websocket

from pykcworkshop.chat.api.websockets.asgi import CLIENT_GONE
from pykcworkshop.chat.api.websockets.caps import socket_slot
from pykcworkshop.chat.api.websockets.closing import (
    CloseCode,
    ConnectionClosedByServer,
    close_quietly,
    linger,
)
from pykcworkshop.chat.api.websockets.control import LiveSocket, tracked
from pykcworkshop.chat.api.websockets.forwarding import forwarding
from pykcworkshop.chat.api.websockets.handshake import accept
from pykcworkshop.chat.backplane import backplane, broker
from pykcworkshop.chat.backplane.pubsub import Subscriber
from pykcworkshop.chat.backplane.ratelimit import TokenBucket
from pykcworkshop.chat.constants import MAX_FRAME_SIZE, MAX_STRIKES
from pykcworkshop.chat.messages import message_content_problem
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.chat.validation import nul_field

log = logging.getLogger(__name__)

#: A per-user limit: the bucket's key (e.g. ``"42:chat"``) and (frames per second, burst).
PerUserLimit = tuple[str, tuple[float, int]]


class ClientSocket:
    """The accepted websocket of one client, with its rate limit and error budget."""

    __slots__ = ("_errors", "_pace", "_per_user", "_rate", "closed_by_server")

    def __init__(
        self, rate: tuple[float, int], per_user: PerUserLimit | None = None, *, pace: bool = False
    ) -> None:
        self._rate = TokenBucket(*rate)
        self._per_user = per_user
        self._pace = pace
        # Every error frame spends one token; running out means sustained abuse.
        self._errors = TokenBucket(rate=1.0, burst=MAX_STRIKES)
        #: Set when the server closed this connection from outside the handler's task.
        self.closed_by_server = False

    async def send_json(self, body: Any) -> None:
        """Send ``body`` as a JSON text frame to this client only."""
        await websocket.send(json.dumps(body, separators=(",", ":")))

    async def send_error(self, reason: str) -> None:
        """Tell this client its frame was unusable; close with 1008 on sustained abuse."""
        if not self._errors.take():
            await self.close(CloseCode.POLICY_VIOLATION, "too many bad or excessive frames")
        await self.send_json({"error": reason})

    async def close(self, code: CloseCode, reason: str) -> None:
        """Close the connection on purpose; ends the handler's ``async with serve()``."""
        await close_quietly(code, reason)
        raise ConnectionClosedByServer(reason)

    def mark_closed_by_server(self) -> None:
        """Record that the server closed this connection from outside the handler's task."""
        self.closed_by_server = True

    async def text_frames(self) -> AsyncIterator[str]:
        """Yield the client's text frames, answering binary and over-rate frames with errors."""
        while True:
            frame = await websocket.receive()
            if frame is CLIENT_GONE:  # after the client's last frame
                return
            # hypercorn's websocket_max_message_size refuses these first; this is the
            # same limit for servers run without our config.
            if frame is not None and len(frame) > MAX_FRAME_SIZE:
                await self.close(CloseCode.MESSAGE_TOO_BIG, "frame too large")
            if self._pace:
                # A request/response client waits for each reply, so it is already flow
                # controlled: hold its next frame back until the rate allows it rather
                # than refuse it (unread frames stay bounded: see the asgi module).
                await asyncio.sleep(self._rate.delay())
            if not self._rate.take():
                await self.send_error("too many messages; slow down")
            elif not await self._user_allowed():
                await self.send_error("too many messages from your account; slow down")
            elif not isinstance(frame, str):
                await self.send_error("binary frames are not supported; send JSON text")
            elif "\x00" in frame:
                await self.send_error("frames must not contain NUL characters")
            else:
                yield frame

    async def _user_allowed(self) -> bool:
        if self._per_user is None:
            return True
        key, (rate, burst) = self._per_user
        return await backplane().limits.allow(key, rate=rate, burst=burst)

    async def json_objects(self) -> AsyncIterator[dict[str, Any]]:
        """Yield the client's frames that are JSON objects; others get an error frame."""
        async for frame in self.text_frames():
            try:
                body = json.loads(frame)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                await self.send_error("frame is not valid JSON")
                continue
            if not isinstance(body, dict):
                await self.send_error("frame must be a JSON object")
                continue
            # PostgreSQL cannot store U+0000, so no client text may hold it (any engine).
            if "\\u0000" in frame and (field := nul_field(body)) is not None:
                await self.send_error(f"{field} must not contain NUL characters")
                continue
            yield body

    async def message_contents(self) -> AsyncIterator[str]:
        """Yield the non-empty ``content`` of each ``{"content": str}`` frame.

        Empty content is skipped silently; content that is missing, not a string or too
        long gets an error frame.
        """
        async for body in self.json_objects():
            content = body.get("content")
            if content == "":
                continue
            if problem := message_content_problem(content):
                await self.send_error(problem)
                continue
            assert isinstance(content, str)  # message_content_problem checked it
            yield content


@asynccontextmanager
async def serve(
    rate: tuple[float, int],
    channel: str | None = None,
    *,
    per_user: PerUserLimit | None = None,
    pace: bool = False,
    also: Sequence[str] = (),
) -> AsyncIterator[ClientSocket]:
    """Accept the handshake and run the connection for the ``async with`` block.

    ``rate`` is ``(frames per second, burst)`` for this connection's incoming frames: over
    it, a frame gets an error frame, or with ``pace`` (request/response sockets) is read
    only once the rate allows it;
    ``per_user`` adds a limit shared by all of one user's connections (in every process
    when the broker is Redis), e.g. ``(f"{user_id}:chat", USER_CHAT_RATE)``. With
    ``channel``, every message published there is forwarded to this client while the block
    runs, and so is every message published on the ``also`` channels (through the same
    bounded queue, so one forwarder serves them all). An error in the block closes only
    this connection (1011) and is logged.
    """
    socket = ClientSocket(rate, per_user, pace=pace)
    # Tracked: a control event (signed out, removed from the room) can end it from outside.
    # Over a cap: a 429 refusal, before accepting.
    with socket_slot():
        async with tracked() as live, _running(socket, live):
            if channel is None:
                await accept()
                yield socket
            else:
                # Subscribe before accepting: once the client sees the handshake succeed,
                # nothing published to the channel can pass it by.
                async with broker().subscribe(channel) as subscription, _feeding(subscription, also):
                    await accept()
                    async with forwarding(subscription, on_close=socket.mark_closed_by_server):
                        yield socket


def _feeding(subscription: Subscriber, channels: Sequence[str]) -> AbstractAsyncContextManager[None]:
    """Queue every message of ``channels`` on ``subscription`` too, for the block."""
    # The usual case, no other channels, costs nothing per socket (an exit stack holds a
    # 760-byte deque).
    return _feeding_from(subscription, channels) if channels else _NOTHING


_NOTHING: AbstractAsyncContextManager[None] = nullcontext()


@asynccontextmanager
async def _feeding_from(subscription: Subscriber, channels: Sequence[str]) -> AsyncIterator[None]:
    async with AsyncExitStack() as extra:
        for other in channels:
            await extra.enter_async_context(broker().subscribe(other, on_message=_feeder(subscription)))
        yield


def _feeder(subscription: Subscriber) -> Callable[[str], None]:
    """Return a broker callback that queues each message on ``subscription`` (which may drop)."""

    def feed(message: str) -> None:
        subscription.offer(message)

    return feed


@asynccontextmanager
async def _running(socket: ClientSocket, live: LiveSocket | None) -> AsyncIterator[None]:
    """End the connection the way its ``async with`` block ended (see :func:`serve`)."""
    try:
        yield
    except ConnectionClosedByServer:
        await linger()
    except asyncio.CancelledError:
        # The forwarder, or a control event (signed out, removed from the room), cancels
        # this task to end the connection; other cancellations (the client went away)
        # propagate.
        task = asyncio.current_task()
        ending = live.ending if live is not None else None
        if not ((socket.closed_by_server or ending) and task is not None and task.uncancel() == 0):
            raise
        if ending is not None and not socket.closed_by_server:
            await close_quietly(*ending)
        await linger()
    except Exception:
        log.exception("websocket handler failed on %s", websocket.path)
        await close_quietly(CloseCode.SERVER_ERROR, "internal error")
        await linger()


@asynccontextmanager
async def present(room_hash: str, user: UserTokenClaims, channel: str) -> AsyncIterator[None]:
    """Count this member-status connection; when the user's last one ends, say Offline."""
    await backplane().presence.arrive(room_hash, user.user_id)
    try:
        yield
    finally:
        # Shielded: a cancelled handler (closed tab) must still announce Offline.
        await asyncio.shield(_leave(room_hash, user, channel))


async def _leave(room_hash: str, user: UserTokenClaims, channel: str) -> None:
    if await backplane().presence.leave(room_hash, user.user_id):
        await broker().publish(channel, status_event(user, "Offline"), conflate=status_key(user))


def status_key(user: UserTokenClaims) -> str:
    """Return the conflation key of ``user``'s status events: only the latest one waits."""
    return f"user:{user.user_id}"


def status_event(user: UserTokenClaims, status: str) -> dict[str, Any]:
    """Return the member-status event for ``user``."""
    return {"user_id": user.user_id, "user_name": user.user_name, "user_status": status}
