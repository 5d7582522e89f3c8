"""The per-user events socket, ``/chat/api/v1/user/events``: one user's tabs kept in step.

Not one of the six workshop sockets (those live in :mod:`.v1`); the frontend opens one per
tab. It carries these events, serialized once per publish:

- ``{"type": "read", "room_hash", "last_read_id"}`` on the user's own channel, when any of
  their tabs or devices moved their read position forward (``PUT /room/<hash>/read``);
- ``{"type": "message", "room_hash", "id", "user_id", "mentions": [user ids]}`` on the
  activity channel of each room the user had joined when the socket opened: a message
  arrived (no content). The client counts it as unread unless it wrote it, as a mention if
  its id is in ``mentions``, and fetches ``GET /user/rooms/unread`` again when it
  (re)connects or joins a room.
- ``{"type": "mentions-changed", "room_hash", "id"}`` on the same activity channel: an
  edit changed whom message ``id`` mentions (:mod:`pykcworkshop.chat.api.edits`); the
  client fetches its counts again.

Why this shape: a server-side "your counts changed" nudge per member would cost one
publish per member per message (a thousand in a 1,000-member room); here every message
costs one publish to its room's activity channel, delivered only to the events sockets
that are open, and the counts stay exact because the client re-fetches them from the
server on every (re)connect.
"""

from __future__ import annotations

from quart import Blueprint

from pykcworkshop.chat import db
from pykcworkshop.chat.api.websockets.handshake import admit
from pykcworkshop.chat.api.websockets.socket import serve
from pykcworkshop.chat.channels import ROOM_ACTIVITY, room_channel, user_channel
from pykcworkshop.chat.constants import STATUS_RATE

bp = Blueprint("websockets_user_events", __name__, url_prefix="/chat/api/v1")


@bp.websocket("/user/events")
async def user_events() -> None:
    """Send the authenticated user their read-position and room-activity events.

    Who may connect: any signed-in user (401 for a bad or missing CSRF or Bearer token).
    The server only sends; a frame from the client gets an error frame.
    """
    user = await admit()
    async with db.get_session() as session:
        rooms = await db.rooms_of_user(session, user.user_id, owned=False)
    activity = [room_channel(room.id, ROOM_ACTIVITY) for room in rooms]
    async with serve(STATUS_RATE, user_channel(user.user_id), also=activity) as socket:
        async for _ in socket.text_frames():
            await socket.send_error("this socket only sends events")
