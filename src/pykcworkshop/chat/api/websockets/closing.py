"""How the server ends a websocket on purpose: named close codes, a bounded close, lingering.

The 1000-range codes are RFC 6455's (section 7.4.1); the 4000-range ones are ours (the
range RFC 6455 leaves to applications). docs/protocol.md, "Close codes", says what a client
should make of each.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from enum import IntEnum

from quart import websocket

from pykcworkshop.chat.api.websockets.asgi import CLIENT_GONE

#: How long we try to deliver a close frame to a client that may not be reading.
CLOSE_TIMEOUT = 1.0
#: How long, after closing, we wait for the client to acknowledge (see :func:`linger`).
LINGER_TIMEOUT = 5.0


class CloseCode(IntEnum):
    """The close codes the server sends.

    >>> CloseCode.POLICY_VIOLATION == 1008
    True
    """

    #: The client kept sending frames the server cannot use.
    POLICY_VIOLATION = 1008
    #: A frame over the size limit.
    MESSAGE_TOO_BIG = 1009
    #: The handler failed; only this connection is closed.
    SERVER_ERROR = 1011
    #: The client cannot keep up with its room (or the broker is unavailable): reconnect.
    TRY_AGAIN_LATER = 1013
    #: The session token the socket was opened with was ended (signed out, replaced,
    #: revoked or expired): sign in again, do not reconnect with it.
    SESSION_ENDED = 4001
    #: The user is no longer a member of the room (kicked, banned, left), or no longer
    #: shares a room with their direct-message partner: do not reconnect.
    REMOVED_FROM_ROOM = 4003
    #: The room was deleted: do not reconnect.
    ROOM_DELETED = 4004


class ConnectionClosedByServer(Exception):
    """Raised after the server closed the connection on purpose (abuse, oversize frame)."""


async def close_quietly(code: CloseCode, reason: str) -> None:
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
