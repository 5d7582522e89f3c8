"""Websocket mechanics shared by the six handlers: handshake guard, accept, frames.

Handshake: browsers cannot set headers on a websocket, so the CSRF token and the session
token travel as ``Sec-WebSocket-Protocol`` entries (``csrf<token>``, ``Bearer<token>``).
Refusals happen before accepting, as plain HTTP responses (401, 403, 404).

After accepting, :func:`serve` runs the connection: it forwards the room's broadcasts to
this client in a background task, hands the handler the client's frames (rate limited), and
turns bad input into ``{"error": ...}`` frames. A client that keeps misbehaving is closed
with 1008; a handler crash closes only its own connection, with 1011.
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

from pykcworkshop.chat import db
from pykcworkshop.chat.api import BEARER_SUBPROTOCOL_PREFIX, CSRF_SUBPROTOCOL_PREFIX, csrf_ok
from pykcworkshop.chat.api.http.helpers import ProblemError
from pykcworkshop.chat.broker import SubscriberLagging
from pykcworkshop.chat.channels import broker, presence
from pykcworkshop.chat.constants import MAX_STRIKES
from pykcworkshop.chat.ratelimit import TokenBucket
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.chat.validation import content_problem

log = logging.getLogger(__name__)

#: Named close codes (RFC 6455 section 7.4.1).
CLOSE_POLICY_VIOLATION = 1008
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
#: How long a send to one client may take before it counts as stuck.
SEND_TIMEOUT = 10.0
#: The subprotocol our frontend offers; selected when offered.
PREFERRED_SUBPROTOCOL = "chat.v1"

# ---------------------------------------------------------------- handshake guard


def _refuse(status: int, detail: str) -> ProblemError:
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    return ProblemError(status, titles[status], detail)


def offered_credential(prefix: str) -> str | None:
    """Return the value of the first offered subprotocol entry starting with ``prefix``."""
    for entry in websocket.requested_subprotocols:
        if entry.startswith(prefix) and len(entry) > len(prefix):
            return entry[len(prefix) :]
    return None


def _origin_allowed(origin: str) -> bool:
    """Return whether a browser page from ``origin`` may open our websockets.

    Allowed: the same host as the request, ``SITE_ROOT``'s origin, or ``ALLOWED_ORIGINS``.
    """
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    netloc = parts.netloc.lower()
    host = websocket.headers.get("Host", "").lower()
    site = urlsplit(str(current_app.config["SITE_ROOT"]))
    allowed = {
        entry.strip().rstrip("/").lower() for entry in str(current_app.config["ALLOWED_ORIGINS"]).split(",")
    }
    return (
        netloc == host
        or (parts.scheme, netloc) == (site.scheme, site.netloc.lower())
        or origin.rstrip("/").lower() in allowed
    )


async def admit(*, bearer: str = "required") -> UserTokenClaims | None:
    """Check a handshake's CSRF token, Origin and (``"required"``/``"optional"``) bearer.

    Raises a 401/403 refusal; returns the user's claims, or None when the bearer is
    optional and missing or invalid.
    """
    if not csrf_ok(offered_credential(CSRF_SUBPROTOCOL_PREFIX)):
        raise _refuse(401, "missing or invalid csrf subprotocol")
    origin = websocket.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        raise _refuse(403, "cross-origin websocket refused")
    token = offered_credential(BEARER_SUBPROTOCOL_PREFIX)
    claims = None
    if token is not None:
        async with db.get_session() as session:
            claims = await db.authenticate(session, token)
    if claims is None and bearer == "required":
        raise _refuse(401, "missing or invalid Bearer subprotocol")
    return claims


async def admit_room_member(room_hash: str) -> UserTokenClaims:
    """Admit a member of ``room_hash``: 401 bad credentials, 404 no room, 403 not a member."""
    user = await admit()
    assert user is not None
    async with db.get_session() as session:
        if not await db.room_exists(session, room_hash):
            raise _refuse(404, "no room with this hash exists")
        if not await db.is_member(session, user_id=user.user_id, room_id=room_hash):
            raise _refuse(403, "you are not a member of this room")
    return user


async def admit_dm_partner(partner_id: int) -> UserTokenClaims:
    """Admit a user who shares a room with ``partner_id``: 401, 404 no such user, 403."""
    user = await admit()
    assert user is not None
    async with db.get_session() as session:
        try:
            await db.get_user_by_id(session, partner_id)
        except NoResultFound:
            raise _refuse(404, "no user with this id exists") from None
        if not await db.share_a_room(session, user.user_id, partner_id):
            raise _refuse(403, "you share no room with this user")
    return user


def choose_subprotocol(offered: list[str]) -> str | None:
    """Pick the subprotocol to accept: ``chat.v1``, else one carrying no credential.

    >>> choose_subprotocol(["csrfX", "chat.v1", "BearerY"])
    'chat.v1'
    >>> choose_subprotocol(["csrfX", "json"]), choose_subprotocol(["csrfX"])
    ('json', 'csrfX')
    """
    if PREFERRED_SUBPROTOCOL in offered:
        return PREFERRED_SUBPROTOCOL
    plain = [p for p in offered if not p.startswith((CSRF_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX))]
    # The client offered only credentials: echo one back rather than none, which
    # browsers treat as a failed handshake.
    candidates = plain or [p for p in offered if p.startswith(CSRF_SUBPROTOCOL_PREFIX)] or offered
    return candidates[0] if candidates else None


# ---------------------------------------------------------------- the connection


class ClientSocket:
    """The accepted websocket of one client, with its rate limit and error budget."""

    def __init__(self, rate: tuple[float, int]) -> None:
        self._rate = TokenBucket(*rate)
        # Every error frame spends one token; running out means sustained abuse.
        self._errors = TokenBucket(rate=1.0, burst=MAX_STRIKES)

    async def send_json(self, body: Any) -> None:
        """Send ``body`` as a JSON text frame to this client only."""
        await websocket.send(json.dumps(body, separators=(",", ":")))

    async def send_error(self, reason: str) -> None:
        """Tell this client its frame was unusable; close with 1008 on sustained abuse."""
        if not self._errors.take():
            await websocket.close(CLOSE_POLICY_VIOLATION, "too many bad or excessive frames")
            raise ConnectionClosedByServer
        await self.send_json({"error": reason})

    async def text_frames(self) -> AsyncIterator[str]:
        """Yield the client's text frames, answering binary and over-rate frames with errors."""
        while True:
            frame = await websocket.receive()
            if not self._rate.take():
                await self.send_error("too many messages; slow down")
            elif not isinstance(frame, str):
                await self.send_error("binary frames are not supported; send JSON text")
            else:
                yield frame

    async def json_objects(self) -> AsyncIterator[dict[str, Any]]:
        """Yield the client's frames that are JSON objects; others get an error frame."""
        async for frame in self.text_frames():
            try:
                body = json.loads(frame)
            except ValueError:
                await self.send_error("frame is not valid JSON")
                continue
            if not isinstance(body, dict):
                await self.send_error("frame must be a JSON object")
                continue
            yield body

    async def message_contents(self) -> AsyncIterator[str]:
        """Yield the non-empty ``content`` of each ``{"content": str}`` frame.

        Empty content is skipped silently; content that is not a string or is too long
        gets an error frame.
        """
        async for body in self.json_objects():
            content = body.get("content")
            if content == "":
                continue
            if problem := content_problem(content):
                await self.send_error(problem)
                continue
            assert isinstance(content, str)  # content_problem checked it
            yield content


class ConnectionClosedByServer(Exception):
    """Raised after the server closed the connection on purpose (abuse, lag)."""


async def _forward(subscription: AsyncIterator[str], handler: asyncio.Task[Any]) -> None:
    """Send each broadcast to this client; disconnect it if it cannot keep up."""
    try:
        async for message in subscription:
            await asyncio.wait_for(websocket.send(message), SEND_TIMEOUT)
    except (SubscriberLagging, TimeoutError):
        log.info("closing a websocket that fell behind its room")
        with suppress(Exception):
            await asyncio.wait_for(websocket.close(CLOSE_TRY_AGAIN_LATER, "too slow; reconnect"), 1.0)
        handler.cancel()


@asynccontextmanager
async def serve(rate: tuple[float, int], channel: str | None = None) -> AsyncIterator[ClientSocket]:
    """Accept the handshake and run the connection for the ``async with`` block.

    With ``channel``, every message published there is forwarded to this client while
    the block runs. Errors in the block close only this connection (1011) and are logged.
    """
    await websocket.accept(subprotocol=choose_subprotocol(websocket.requested_subprotocols))
    socket = ClientSocket(rate)
    try:
        if channel is None:
            yield socket
            return
        handler = asyncio.current_task()
        assert handler is not None
        async with broker().subscribe(channel) as subscription:
            forwarder = asyncio.create_task(_forward(subscription, handler))
            try:
                yield socket
            finally:
                forwarder.cancel()
                with suppress(asyncio.CancelledError):
                    await forwarder
    except ConnectionClosedByServer:
        pass
    except Exception:
        log.exception("websocket handler failed on %s", websocket.path)
        with suppress(Exception):
            await websocket.close(CLOSE_SERVER_ERROR, "internal error")


@asynccontextmanager
async def present(room_hash: str, user: UserTokenClaims, channel: str) -> AsyncIterator[None]:
    """Count this member-status connection; when the user's last one ends, say Offline."""
    await presence().arrive(room_hash, user.user_id)
    try:
        yield
    finally:
        await asyncio.shield(_leave(room_hash, user, channel))


async def _leave(room_hash: str, user: UserTokenClaims, channel: str) -> None:
    if await presence().leave(room_hash, user.user_id):
        await broker().publish(channel, status_event(user, "Offline"))


def status_event(user: UserTokenClaims, status: str) -> dict[str, Any]:
    """Return the member-status event for ``user``."""
    return {"user_id": user.user_id, "user_name": user.user_name, "user_status": status}
