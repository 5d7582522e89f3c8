"""Websocket mechanics shared by the six handlers: handshake guard, accept, frames.

Handshake: browsers cannot set headers on a websocket, so the CSRF token and the session
token travel as ``Sec-WebSocket-Protocol`` entries (``csrf<token>``, ``Bearer<token>``).
Refusals happen before accepting, as plain HTTP responses (401, 403, 404).

After accepting, :func:`serve` runs the connection: it forwards the channel's broadcasts to
this client in a background task, hands the handler the client's frames (rate limited), and
turns bad input into ``{"error": ...}`` frames. A client that keeps misbehaving is closed
with 1008, one that cannot keep up with its room with 1013, and a handler crash closes only
its own connection, with 1011.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from quart import current_app, websocket
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat import db
from pykcworkshop.chat.api import BEARER_SUBPROTOCOL_PREFIX, CSRF_SUBPROTOCOL_PREFIX, csrf_ok
from pykcworkshop.chat.api.websockets.connection import CLIENT_GONE
from pykcworkshop.chat.broker import Subscriber, SubscriberDropped
from pykcworkshop.chat.channels import broker, presence, user_limits
from pykcworkshop.chat.constants import MAX_DB_ID, MAX_FRAME_SIZE, MAX_STRIKES
from pykcworkshop.chat.messages import message_content_problem
from pykcworkshop.chat.ratelimit import TokenBucket
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.problems import ProblemError

log = logging.getLogger(__name__)

#: Named close codes (RFC 6455 section 7.4.1).
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
#: How long one send to a client may take before the client counts as stuck.
SEND_TIMEOUT = 10.0
#: How long we try to deliver a close frame to a client that may not be reading.
CLOSE_TIMEOUT = 1.0
#: How long, after closing, we wait for the client to acknowledge (see :func:`linger`).
LINGER_TIMEOUT = 5.0
#: The subprotocol our frontend offers; selected whenever it is offered.
PREFERRED_SUBPROTOCOL = "chat.v1"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# ---------------------------------------------------------------- handshake guard


def _refuse(status: int, detail: str) -> ProblemError:
    return ProblemError(status, detail)


def offered_credential(prefix: str) -> str | None:
    """Return the value of the first offered subprotocol entry starting with ``prefix``."""
    for entry in websocket.requested_subprotocols:
        if entry.startswith(prefix) and len(entry) > len(prefix):
            return entry[len(prefix) :]
    return None


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """Return ``(host, port)`` of ``netloc`` with the scheme's default port filled in.

    >>> _host_port("Example.COM", "https"), _host_port("localhost:8000", "http")
    (('example.com', 443), ('localhost', 8000))
    >>> _host_port("bad:port", "http") is None
    True
    """
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port if port is not None else _DEFAULT_PORTS.get(scheme, 0)


def _origin_allowed(origin: str) -> bool:
    """Return whether a browser page from ``origin`` may open our websockets.

    Allowed: the same host and port as the request's ``Host`` header, ``SITE_ROOT``'s
    origin, or an origin listed in ``ALLOWED_ORIGINS`` (comma-separated).
    """
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    page = _host_port(parts.netloc, parts.scheme)
    if page is None:
        return False
    # The request's own scheme is what the browser used for the socket (ws for http, wss
    # for https); behind a TLS-terminating proxy it may differ, so the host and port decide.
    if page == _host_port(websocket.headers.get("Host", ""), parts.scheme):
        return True
    site = urlsplit(str(current_app.config.get("SITE_ROOT") or ""))
    if parts.scheme == site.scheme and page == _host_port(site.netloc, site.scheme):
        return True
    allowed = current_app.config.get("ALLOWED_ORIGINS") or ""
    entries = allowed.split(",") if isinstance(allowed, str) else allowed
    for entry in entries:
        listed = urlsplit(str(entry).strip())
        if listed.scheme == parts.scheme and page == _host_port(listed.netloc, listed.scheme):
            return True
    return False


async def admit(*, bearer: str = "required") -> UserTokenClaims | None:
    """Check a handshake's CSRF token, Origin and (``"required"``/``"optional"``) bearer.

    Raises a 401/403 refusal; returns the user's claims, or None when the bearer is
    optional and missing or invalid.
    """
    async with db.get_session() as session:
        return await _admit(session, bearer)


async def _admit(session: AsyncSession, bearer: str) -> UserTokenClaims | None:
    if not csrf_ok(offered_credential(CSRF_SUBPROTOCOL_PREFIX)):
        raise _refuse(401, "missing or invalid csrf subprotocol")
    origin = websocket.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        raise _refuse(403, "cross-origin websocket refused")
    token = offered_credential(BEARER_SUBPROTOCOL_PREFIX)
    claims = None if token is None else await db.authenticate(session, token)
    if claims is None and bearer == "required":
        raise _refuse(401, "missing or invalid Bearer subprotocol")
    return claims


async def admit_room_member(room_hash: str) -> UserTokenClaims:
    """Admit a member of ``room_hash``: 401 bad credentials, 404 no room, 403 not a member."""
    # One session for every check: a room's clients often connect all at once.
    async with db.get_session() as session:
        user = await _admit(session, "required")
        assert user is not None
        if not await db.room_exists(session, room_hash):
            raise _refuse(404, "no room with this hash exists")
        if not await db.is_member(session, user_id=user.user_id, room_id=room_hash):
            raise _refuse(403, "you are not a member of this room")
    return user


async def admit_dm_partner(partner_id: int) -> UserTokenClaims:
    """Admit a user who shares a room with ``partner_id``: 401, 404 no such user, 403."""
    async with db.get_session() as session:
        user = await _admit(session, "required")
        assert user is not None
        try:
            if not 0 < partner_id <= MAX_DB_ID:
                raise NoResultFound
            await db.get_user_by_id(session, partner_id)
        except NoResultFound:
            raise _refuse(404, "no user with this id exists") from None
        if not await db.share_a_room(session, user.user_id, partner_id):
            raise _refuse(403, "you share no room with this user")
    return user


def choose_subprotocol(offered: list[str], *, from_browser: bool) -> str | None:
    """Pick the subprotocol to accept, or None to select none.

    ``chat.v1`` whenever it is offered. Otherwise a browser (the request carries an
    ``Origin`` header) gets an entry it offered, since it drops a connection on which none
    was selected: one carrying no credential, else the CSRF entry (the least secret one).
    Any other client gets none, as RFC 6455 allows: clients that write the credentials into
    a raw ``Sec-WebSocket-Protocol`` header declare no subprotocols of their own, and their
    library aborts the handshake if one is selected.

    >>> choose_subprotocol(["csrfX", "chat.v1", "BearerY"], from_browser=False)
    'chat.v1'
    >>> choose_subprotocol(["wamp", "BearerY", "csrfX"], from_browser=False) is None
    True
    >>> choose_subprotocol(["csrfX", "", "json"], from_browser=True)
    'json'
    >>> choose_subprotocol(["BearerY", "csrfX"], from_browser=True)
    'csrfX'
    """
    offered = [entry for entry in offered if entry]
    if PREFERRED_SUBPROTOCOL in offered:
        return PREFERRED_SUBPROTOCOL
    if not from_browser:
        return None
    plain = [p for p in offered if not p.startswith((CSRF_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX))]
    candidates = plain or [p for p in offered if p.startswith(CSRF_SUBPROTOCOL_PREFIX)] or offered
    return candidates[0] if candidates else None


# ---------------------------------------------------------------- the connection


class ConnectionClosedByServer(Exception):
    """Raised after the server closed the connection on purpose (abuse, oversize frame)."""


async def close_quietly(code: int, reason: str) -> None:
    """Close this websocket, giving up after :data:`CLOSE_TIMEOUT` (the client may be stuck)."""
    with suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await websocket.close(code, reason)


async def linger() -> None:
    """After the server closed, discard the client's frames until it disconnects.

    hypercorn hands incoming frames to the app through a small bounded queue and stops
    reading the connection while that queue is full. If the app returned right after
    closing while the client was still sending (a flood is what gets closed), nobody would
    empty the queue: the client's close acknowledgement would never be read and the
    connection would hang. So keep receiving, for at most :data:`LINGER_TIMEOUT` seconds;
    the client's disconnect ends the handler sooner.
    """
    with suppress(TimeoutError):
        async with asyncio.timeout(LINGER_TIMEOUT):
            while await websocket.receive() is not CLIENT_GONE:
                pass


#: A per-user limit: the bucket's key (e.g. ``"42:chat"``) and (frames per second, burst).
PerUserLimit = tuple[str, tuple[float, int]]


class ClientSocket:
    """The accepted websocket of one client, with its rate limit and error budget."""

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
            await self.close(CLOSE_POLICY_VIOLATION, "too many bad or excessive frames")
        await self.send_json({"error": reason})

    async def close(self, code: int, reason: str) -> None:
        """Close the connection on purpose; ends the handler's ``async with serve()``."""
        await close_quietly(code, reason)
        raise ConnectionClosedByServer(reason)

    async def text_frames(self) -> AsyncIterator[str]:
        """Yield the client's text frames, answering binary and over-rate frames with errors."""
        while True:
            frame = await websocket.receive()
            if frame is CLIENT_GONE:  # after the client's last frame
                return
            # hypercorn's websocket_max_message_size refuses these first; this is the
            # same limit for servers run without our config.
            if frame is not None and len(frame) > MAX_FRAME_SIZE:
                await self.close(CLOSE_MESSAGE_TOO_BIG, "frame too large")
            if self._pace:
                # A request/response client waits for each reply, so it is already flow
                # controlled: hold its next frame back until the rate allows it rather
                # than refuse it (unread frames stay bounded; see asgi RECEIVE_QUEUE_SIZE).
                await asyncio.sleep(self._rate.delay())
            if not self._rate.take():
                await self.send_error("too many messages; slow down")
            elif not await self._user_allowed():
                await self.send_error("too many messages from your account; slow down")
            elif not isinstance(frame, str):
                await self.send_error("binary frames are not supported; send JSON text")
            else:
                yield frame

    async def _user_allowed(self) -> bool:
        if self._per_user is None:
            return True
        key, (rate, burst) = self._per_user
        return await user_limits().allow(key, rate=rate, burst=burst)

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


class _SendClock:
    """When the send in progress started (loop time), or None between sends."""

    since: float | None = None


async def _send_each(subscription: Subscriber, clock: _SendClock) -> None:
    loop = asyncio.get_running_loop()
    async for message in subscription:
        # A timer per send would cost more than the send; _watch checks the clock instead.
        clock.since = loop.time()
        await websocket.send(message)
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


async def _forward(subscription: Subscriber, socket: ClientSocket, handler: asyncio.Task[Any]) -> None:
    """Send each broadcast to this client; end the connection when that stops working.

    A client that falls behind (its queue overflowed while a send was stuck, or one send
    took over :data:`SEND_TIMEOUT`) is closed with 1013 "try again later"; any other
    failure with 1011. Either way the handler is interrupted, so the connection ends.
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
            CLOSE_TRY_AGAIN_LATER, "too slow; please reconnect" if slow else "server busy; please reconnect"
        )
    else:
        log.error("forwarding broadcasts failed on %s", websocket.path, exc_info=error)
        await close_quietly(CLOSE_SERVER_ERROR, "internal error")
    socket.closed_by_server = True
    handler.cancel()


@asynccontextmanager
async def _forwarding(subscription: Subscriber, socket: ClientSocket) -> AsyncIterator[None]:
    handler = asyncio.current_task()
    assert handler is not None
    forwarder = asyncio.create_task(_forward(subscription, socket, handler))
    try:
        yield
    finally:
        forwarder.cancel()
        with suppress(asyncio.CancelledError):
            await forwarder


async def accept() -> None:
    """Accept the handshake, selecting a subprotocol as :func:`choose_subprotocol` says."""
    from_browser = "Origin" in websocket.headers
    await websocket.accept(
        subprotocol=choose_subprotocol(websocket.requested_subprotocols, from_browser=from_browser)
    )


@asynccontextmanager
async def serve(
    rate: tuple[float, int],
    channel: str | None = None,
    *,
    per_user: PerUserLimit | None = None,
    pace: bool = False,
) -> AsyncIterator[ClientSocket]:
    """Accept the handshake and run the connection for the ``async with`` block.

    ``rate`` is ``(frames per second, burst)`` for this connection's incoming frames: over
    it, a frame gets an error frame, or with ``pace`` (request/response sockets) is read
    only once the rate allows it;
    ``per_user`` adds a limit shared by all of one user's connections (in every process
    when the broker is Redis), e.g. ``(f"{user_id}:chat", USER_CHAT_RATE)``. With
    ``channel``, every message published there is forwarded to this client while the block
    runs. An error in the block closes only this connection (1011) and is logged.
    """
    socket = ClientSocket(rate, per_user, pace=pace)
    try:
        if channel is None:
            await accept()
            yield socket
        else:
            # Subscribe before accepting: once the client sees the handshake succeed,
            # nothing published to the channel can pass it by.
            async with broker().subscribe(channel) as subscription:
                await accept()
                async with _forwarding(subscription, socket):
                    yield socket
    except ConnectionClosedByServer:
        await linger()
    except asyncio.CancelledError:
        # The forwarder cancels this task after closing the connection; other
        # cancellations (the client went away) propagate.
        task = asyncio.current_task()
        if not (socket.closed_by_server and task is not None and task.uncancel() == 0):
            raise
        await linger()
    except Exception:
        log.exception("websocket handler failed on %s", websocket.path)
        await close_quietly(CLOSE_SERVER_ERROR, "internal error")
        await linger()


@asynccontextmanager
async def present(room_hash: str, user: UserTokenClaims, channel: str) -> AsyncIterator[None]:
    """Count this member-status connection; when the user's last one ends, say Offline."""
    await presence().arrive(room_hash, user.user_id)
    try:
        yield
    finally:
        # Shielded: a cancelled handler (closed tab) must still announce Offline.
        await asyncio.shield(_leave(room_hash, user, channel))


async def _leave(room_hash: str, user: UserTokenClaims, channel: str) -> None:
    if await presence().leave(room_hash, user.user_id):
        await broker().publish(channel, status_event(user, "Offline"))


def status_event(user: UserTokenClaims, status: str) -> dict[str, Any]:
    """Return the member-status event for ``user``."""
    return {"user_id": user.user_id, "user_name": user.user_name, "user_status": status}
