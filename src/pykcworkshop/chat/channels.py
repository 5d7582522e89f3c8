"""Names of the broker channels: one per room socket, one per pair of DM partners, one per user."""

from __future__ import annotations


def room_channel(room_hash: str, socket_name: str) -> str:
    """Return the channel of one room socket.

    >>> room_channel("abc", "chat-message")
    'room:abc:chat-message'
    """
    return f"room:{room_hash}:{socket_name}"


def dm_channel(user_a: int, user_b: int) -> str:
    """Return the channel shared by A's DM socket to B and B's DM socket to A.

    >>> dm_channel(7, 3) == dm_channel(3, 7) == "dm:3:7"
    True
    """
    low, high = sorted((user_a, user_b))
    return f"dm:{low}:{high}"


def user_channel(user_id: int) -> str:
    """Return the channel of one user's events socket (read positions, across their tabs).

    >>> user_channel(7)
    'user:7:events'
    """
    return f"user:{user_id}:events"


#: The room channel (``room_channel(hash, ROOM_ACTIVITY)``) that tells members' events
#: sockets a message arrived, without its content: one publish per message, whatever the
#: room's size.
ROOM_ACTIVITY = "activity"
