"""Who is connected to which room's member-status socket, to know a user's *last* one.

:class:`MemoryPresence` counts connections in this process. With ``redis://`` the count
must be shared by every process (see :mod:`pykcworkshop.chat.backplane.presence_redis`).
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol


class Presence(Protocol):
    """Counts a user's open member-status connections per room."""

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def arrive(self, room: str, user_id: int) -> None: ...
    async def leave(self, room: str, user_id: int) -> bool:
        """Forget one connection; return True if it was the user's last in the room."""
        ...


class MemoryPresence:
    """Connection counts of this process only."""

    def __init__(self) -> None:
        self._connections: Counter[tuple[str, int]] = Counter()

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def disconnect(self) -> None:
        """Nothing to disconnect from."""

    async def arrive(self, room: str, user_id: int) -> None:
        """Count one more connection of ``user_id`` to ``room``."""
        self._connections[room, user_id] += 1

    async def leave(self, room: str, user_id: int) -> bool:
        """Count one connection less; return True if none is left."""
        key = (room, user_id)
        self._connections[key] -= 1
        if self._connections[key] > 0:
            return False
        del self._connections[key]
        return True

    def count(self, room: str, user_id: int) -> int:
        """Return how many connections ``user_id`` has to ``room``."""
        return self._connections[room, user_id]
