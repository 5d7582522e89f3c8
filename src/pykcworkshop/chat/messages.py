"""Chat and direct messages: checking content, storing, history, and the shape clients receive.

The message object (docs/protocol.md, "Message objects") is built here and only here; the
data layer returns rows and models and knows nothing of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from pykcworkshop.chat import db, groupcommit
from pykcworkshop.chat.backplane import broker
from pykcworkshop.chat.channels import ROOM_ACTIVITY, room_channel
from pykcworkshop.chat.constants import MAX_DB_ID, MAX_HISTORY_CHUNK
from pykcworkshop.chat.mentions import mentioned_ids
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.chat.validation import content_problem
from pykcworkshop.utils import now


def message_json(
    *,
    message_id: int | None,
    user_id: int,
    user_name: str,
    content: str,
    timestamp: datetime,
    edited_at: datetime | None = None,
) -> dict[str, Any]:
    """Return a message object in the shape clients receive; ``id`` only when stored.

    ``edited_at`` only for an edited message: an unedited one keeps exactly the keys it
    always had (the workshop sockets' frames do not change).

    >>> message_json(message_id=None, user_id=3, user_name="Ada", content="hi",
    ...              timestamp=datetime(2024, 5, 1, 12, tzinfo=UTC))
    {'user_name': 'Ada', 'user_id': 3, 'content': 'hi', 'timestamp': '2024-05-01T12:00:00+00:00'}
    """
    body: dict[str, Any] = {
        "user_name": user_name,
        "user_id": user_id,
        "content": content,
        "timestamp": timestamp.astimezone(UTC).isoformat(),
    }
    if message_id is not None:
        body["id"] = message_id
    if edited_at is not None:
        body["edited_at"] = edited_at.astimezone(UTC).isoformat()
    return body


def stored_message_json(message: db.ChatMessage) -> dict[str, Any]:
    """Return the message object of a stored message (its ``author`` is loaded eagerly)."""
    return message_json(
        message_id=message.id,
        user_id=message.author_id,
        user_name=message.author.name,
        content=message.content,
        timestamp=message.timestamp,
        edited_at=message.edited_at,
    )


def history_json(rows: list[db.MessageRow]) -> list[dict[str, Any]]:
    """Return the message objects of history rows, in the same order."""
    return [
        message_json(
            message_id=row.id,
            user_id=row.author_id,
            user_name=row.author_name,
            content=row.content,
            timestamp=row.timestamp,
            edited_at=row.edited_at,
        )
        for row in rows
    ]


def message_content_problem(value: object) -> str:
    """Return why ``value`` cannot be a chat or direct message's content, or ``""``.

    The rules of :func:`~pykcworkshop.chat.validation.content_problem`, plus: the text must
    be storable Unicode (JSON can carry lone UTF-16 surrogates such as ``"\\ud800"``, which
    no database can store).

    >>> message_content_problem("hi"), message_content_problem(None)
    ('', 'content must be a string')
    >>> message_content_problem("\\ud800")
    'content must be valid Unicode text'
    """
    if problem := content_problem(value):
        return problem
    assert isinstance(value, str)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "content must be valid Unicode text"
    return ""


@dataclass(frozen=True)
class HistoryRequest:
    """A valid chat-history request."""

    before: datetime
    chunk_size: int
    newer: bool
    cursor_id: int | None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: object) -> TypeGuard[int | float]:
    """Return whether ``value`` is a JSON number (not a bool) that a float can hold.

    JSON integers have no size limit: ``math.isfinite(10**400)`` raises OverflowError.

    >>> _is_finite_number(10**400), _is_finite_number(float("nan")), _is_finite_number(1.5)
    (False, False, True)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def parse_history_request(frame: dict[str, Any]) -> HistoryRequest | str:
    """Return the request in ``frame``, or the reason it is not a valid one.

    >>> parse_history_request({"timestamp": 0, "chunk_size": 10}).newer
    False
    >>> parse_history_request({"timestamp": 0, "chunk_size": 101})
    'chunk_size must be an integer from 1 to 100'
    """
    timestamp, chunk_size, newer = frame.get("timestamp"), frame.get("chunk_size"), frame.get("newer", False)
    if not _is_finite_number(timestamp):
        return "timestamp must be a number: milliseconds since the epoch (UTC)"
    if not _is_int(chunk_size) or not 1 <= chunk_size <= MAX_HISTORY_CHUNK:
        return f"chunk_size must be an integer from 1 to {MAX_HISTORY_CHUNK}"
    if not isinstance(newer, bool):
        return "newer must be true or false"
    cursor_key = "after_id" if newer else "before_id"
    cursor = frame.get(cursor_key)
    if cursor is not None and (not _is_int(cursor) or not 0 < cursor <= MAX_DB_ID):
        return f"{cursor_key} must be a message id (a positive integer)"
    try:
        before = datetime.fromtimestamp(timestamp / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return "timestamp is out of range"
    return HistoryRequest(before=before, chunk_size=chunk_size, newer=newer, cursor_id=cursor)


async def load_history(room_hash: str, request: HistoryRequest) -> list[dict[str, Any]]:
    """Return the room's messages that ``request`` asks for, as message objects."""
    # One page is one statement (two if its cursor is not found): no transaction needed.
    async with db.get_session(read_only=True) as session:
        rows = await db.get_history(
            session,
            room_id=room_hash,
            before=request.before,
            chunk_size=request.chunk_size,
            newer=request.newer,
            cursor_id=request.cursor_id,
        )
    return history_json(rows)


async def record_chat_message(
    user: UserTokenClaims, room_hash: str, content: str
) -> tuple[dict[str, Any], set[int]]:
    """Store a message by ``user`` in the room; return its message object and who it mentions.

    Concurrent messages share one transaction (:mod:`.groupcommit`), which also checks the
    author is not muted: raises :class:`~pykcworkshop.chat.groupcommit.Muted` if a
    moderator muted ``user`` in the room (a mute or an unmute takes effect with the next
    message, in every process), and :class:`~pykcworkshop.chat.groupcommit.NotStored` when
    the database refuses the message.

    The members it mentions (``@name``, see :mod:`pykcworkshop.chat.mentions`; the author
    excepted) are recorded with it, for their mention counts.
    """
    mentioned: set[int] = set()
    # Only a message with an "@" can mention anyone: the others cost no member lookup.
    if "@" in content:
        async with db.get_session() as session:
            names = await db.member_names(session, room_hash)
        # Mentioning yourself calls nobody's attention.
        mentioned = mentioned_ids(content, names) - {user.user_id}
    message_id, timestamp = await groupcommit.store(
        author_id=user.user_id, room_id=room_hash, content=content, mentioned=frozenset(mentioned)
    )
    body = message_json(
        message_id=message_id,
        user_id=user.user_id,
        user_name=user.user_name,
        content=content,
        timestamp=timestamp,
    )
    return body, mentioned


def activity_event(room_hash: str, message: dict[str, Any], mentioned: set[int]) -> dict[str, Any]:
    """Return the room-activity event of a new message: no content, just what counts need.

    >>> activity_event("abc", {"id": 9, "user_id": 3, "content": "@Bo"}, {4})
    {'type': 'message', 'room_hash': 'abc', 'id': 9, 'user_id': 3, 'mentions': [4]}
    """
    return {
        "type": "message",
        "room_hash": room_hash,
        "id": message["id"],
        "user_id": message["user_id"],
        "mentions": sorted(mentioned),
    }


async def store_chat_message(user: UserTokenClaims, room_hash: str, content: str) -> dict[str, Any]:
    """Store a message by ``user`` in the room and return its message object.

    Also tells the members' events sockets (``/user/events``) through the room's activity
    channel, so their other rooms' unread counts move.
    """
    body, mentioned = await record_chat_message(user, room_hash, content)
    await broker().publish(room_channel(room_hash, ROOM_ACTIVITY), activity_event(room_hash, body, mentioned))
    return body


def new_direct_message(user: UserTokenClaims, content: str) -> dict[str, Any]:
    """Return the message object of a direct message by ``user``, sent now (never stored)."""
    return message_json(
        message_id=None,
        user_id=user.user_id,
        user_name=user.user_name,
        content=content,
        timestamp=now(),
    )
