"""The room-events socket: moderation (and later edits and read state) reaches open views live.

Not one of the six workshop sockets (``workshop/starter.py`` stubs only the handlers in
:mod:`.v1`), and it never changes what those six send. The events are listed in
:mod:`pykcworkshop.chat.room_events`.
"""

from __future__ import annotations

from quart import Blueprint

from pykcworkshop.chat import room_events
from pykcworkshop.chat.api.websockets.handshake import admit_room_member
from pykcworkshop.chat.api.websockets.socket import serve
from pykcworkshop.chat.constants import ROOM_EVENTS_RATE

bp = Blueprint("websockets_events", __name__, url_prefix="/chat/api/v1")


@bp.websocket(f"/room/<room_hash>/{room_events.SOCKET}")
async def room_events_socket(room_hash: str) -> None:
    """Send a room's events as they happen: ``{"type": ..., ...}`` (see ``room_events``).

    Who may connect: a member of the room (401 / 404 / 403 before accepting, as for
    chat-message). The server sends nothing on connect; the client sends nothing (a frame
    it sends anyway gets an error frame). Removed members' connections close with 4003,
    everyone's with 4004 when the room is deleted, like the room's other sockets.
    """
    await admit_room_member(room_hash)
    async with serve(ROOM_EVENTS_RATE, room_events.channel(room_hash)) as socket:
        async for _frame in socket.text_frames():
            await socket.send_error("this socket only sends events")
