"""Control events: what ends a user's open websockets, published for every server process.

The HTTP routes that end a session or a membership publish these; each process's listener
(:mod:`pykcworkshop.chat.api.websockets.control`) closes its own matching sockets. They
live here, beside both APIs, so the HTTP API need not import the websocket package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pykcworkshop.chat.api.websockets.closing import CloseCode
from pykcworkshop.chat.backplane import broker

#: The broker channel of control events (one for the whole deployment: they are rare).
CONTROL_CHANNEL = "control"


def token_fingerprint(token: str) -> str:
    """Return a short digest of a session token: control events never carry tokens.

    >>> len(token_fingerprint("abc")), token_fingerprint("abc") == token_fingerprint("abc")
    (32, True)
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


async def end_session(user_id: int, old_token: str) -> None:
    """Close every socket, in every process, that was opened with ``old_token``."""
    event = {"kind": "session-ended", "user_id": user_id, "token": token_fingerprint(old_token)}
    await broker().publish(CONTROL_CHANNEL, event)


async def remove_from_room(
    user_id: int, room: str, reason: str, code: CloseCode = CloseCode.REMOVED_FROM_ROOM
) -> None:
    """Close ``user_id``'s sockets on ``room`` in every process (kicked, banned, left)."""
    event = {"kind": "left-room", "user_id": user_id, "room": room, "code": int(code), "reason": reason}
    await broker().publish(CONTROL_CHANNEL, event)


async def delete_room(room: str, member_ids: Iterable[int], reason: str) -> None:
    """Close every socket on ``room`` in every process; ``member_ids`` were its members."""
    event = {"kind": "room-deleted", "room": room, "members": sorted(member_ids), "reason": reason}
    await broker().publish(CONTROL_CHANNEL, event)
