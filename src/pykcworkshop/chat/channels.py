"""Names of the broker channels: one per room socket, one per pair of DM partners."""

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
