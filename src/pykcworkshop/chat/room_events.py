"""Room events: what happened to a room's members, messages and settings, for its open views.

Every event is a JSON object ``{"type": <one of EVENT_TYPES>, ...}`` published on the room's
``room-events`` channel through the broker, so it reaches every process; the room-events
socket (``chat/api/websockets/events.py``) forwards it to the room's members. The events
and their other keys (``by_id``/``by_name``: who did it; ``user_id``/``user_name``: to whom):

- ``role-changed``: ``user_id``, ``user_name``, ``role``, ``by_id``, ``by_name``
- ``member-kicked``, ``member-banned``: ``user_id``, ``user_name``, ``by_id``, ``by_name``
  (``member-banned`` also ``reason``)
- ``member-unbanned``: ``user_id``, ``user_name``, ``by_id``, ``by_name``
- ``member-muted``: ``user_id``, ``user_name``, ``until`` (ISO 8601 UTC), ``by_id``, ``by_name``
- ``member-unmuted``: ``user_id``, ``user_name``, ``by_id``, ``by_name``
- ``message-deleted``: ``message_id``, ``by_id``, ``by_name``
- ``message-edited``: ``message_id``, ``content`` (the new text), ``edited_at`` (ISO 8601
  UTC), ``by_id``, ``by_name`` (the author: only they edit)
- ``room-renamed``: ``room_name``, ``by_id``, ``by_name``
- ``room-deleted``: ``by_id``, ``by_name``
- ``member-left``: ``user_id``, ``user_name``
- ``ownership-transferred``: ``user_id``, ``user_name`` (the new owner), ``by_id``, ``by_name``

To add an event (read state, say), add its type here and publish it with
:func:`publish`.
"""

from __future__ import annotations

from typing import Any

from pykcworkshop.chat.backplane import broker
from pykcworkshop.chat.channels import room_channel

#: The name of the socket, and of its channel per room.
SOCKET = "room-events"

EVENT_TYPES = frozenset(
    {
        "role-changed",
        "member-kicked",
        "member-banned",
        "member-unbanned",
        "member-muted",
        "member-unmuted",
        "message-deleted",
        "message-edited",
        "room-renamed",
        "room-deleted",
        "member-left",
        "ownership-transferred",
    }
)


def channel(room_hash: str) -> str:
    """Return the broker channel of a room's events.

    >>> channel("abc")
    'room:abc:room-events'
    """
    return room_channel(room_hash, SOCKET)


def event(event_type: str, **fields: Any) -> dict[str, Any]:
    """Return a room event; ``event_type`` must be one of :data:`EVENT_TYPES`.

    >>> event("message-deleted", message_id=7)
    {'type': 'message-deleted', 'message_id': 7}
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown room event type {event_type!r}")
    return {"type": event_type, **fields}


async def publish(room_hash: str, event_type: str, **fields: Any) -> None:
    """Send a room event to every room-events connection of the room, in every process."""
    await broker().publish(channel(room_hash), event(event_type, **fields))
