"""Names of the broker channels, and the app's broker and presence tracker."""

from __future__ import annotations

from quart import current_app

from pykcworkshop.chat.broker import Broker
from pykcworkshop.chat.presence import Presence
from pykcworkshop.chat.userlimits import UserLimiter


def broker() -> Broker:
    """Return the app's pub/sub broker."""
    chat_broker: Broker = current_app.extensions["broker"]
    return chat_broker


def presence() -> Presence:
    """Return the app's presence tracker."""
    tracker: Presence = current_app.extensions["presence"]
    return tracker


def user_limits() -> UserLimiter:
    """Return the app's per-user rate limiter."""
    limiter: UserLimiter = current_app.extensions["user_limits"]
    return limiter


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
