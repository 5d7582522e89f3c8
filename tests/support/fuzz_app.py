"""The app with its rate limits and strike budget lifted, for ``hatch run fuzz``.

The long fuzz run sends 10^5 frames per socket as fast as the server answers: the
limiter would refuse nearly all of them ("slow down") and close the connection with 1008,
and the run would measure the limiter instead of how each handler treats hostile input.
Everything else is the real app. (The suite's short fuzz run uses the normal app.)
"""

from __future__ import annotations

from quart import Quart

from pykcworkshop import create_app as create_chat_app
from pykcworkshop.chat import backplane
from pykcworkshop.chat.api.websockets import socket, v1

UNLIMITED = (1e9, 10**9)


def create_app() -> Quart:
    """Return the chat app with every frame rate, the room budget and the strikes unlimited."""
    for name in ("CHAT_RATE", "STATUS_RATE", "SYNC_RATE", "HISTORY_RATE", "VALIDATION_RATE"):
        setattr(v1, name, UNLIMITED)
    for name in ("USER_CHAT_RATE", "USER_SYNC_RATE"):
        setattr(v1, name, UNLIMITED)
    backplane.ROOM_SYNC_BUDGET = UNLIMITED  # type: ignore[attr-defined]
    socket.MAX_STRIKES = 10**9  # type: ignore[attr-defined]
    return create_chat_app()
