"""Chat-history pages: :func:`get_history` and the :class:`MessageRow` it returns.

A page is the hot read of the app (every room opened, every scroll up), so its statements
are built once per shape, with bound parameters, and run as Core statements on the
session's connection: no statement construction, cache-key computation or ORM result
processing per page, which was a quarter of a page's time (bench:history).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, Executable, Integer, Select, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat.db.models import ChatMessage, User


class MessageRow(NamedTuple):
    """One message of a room's history, with its author's name."""

    id: int
    author_id: int
    author_name: str
    content: str
    #: Aware UTC.
    timestamp: datetime
    #: When the author last edited it (aware UTC), or None.
    edited_at: datetime | None = None


async def get_history(
    session: AsyncSession,
    *,
    room_id: str,
    before: datetime,
    chunk_size: int,
    newer: bool = False,
    cursor_id: int | None = None,
) -> list[MessageRow]:
    """Return up to ``chunk_size`` messages of a room next to ``before`` (deleted ones left out).

    ``newer`` false: the newest messages strictly older than ``before``, newest first;
    true: the oldest strictly newer, oldest first. With ``cursor_id``, the id of a message
    of this room, the boundary is that message's exact (timestamp, id) instead, so messages
    that share a timestamp (or a millisecond) are neither skipped nor repeated across pages.
    """
    connection = await session.connection()
    if cursor_id is not None:
        # One round trip: the cursor's timestamp is a subquery. A cursor that is not one of
        # this room's messages makes it NULL and the page empty; only then is it looked up.
        result = await connection.execute(
            _page(newer, by_cursor=True), {"room_id": room_id, "cursor_id": cursor_id, "limit": chunk_size}
        )
        rows = [MessageRow(*row) for row in result.all()]
        if rows or await session.scalar(_message_timestamp(room_id, cursor_id)) is not None:
            return rows
    result = await connection.execute(
        _page(newer, by_cursor=False), {"room_id": room_id, "before": before, "limit": chunk_size}
    )
    return [MessageRow(*row) for row in result.all()]


def _message_timestamp(room_id: Any, message_id: Any) -> Select[Any]:
    return select(ChatMessage.timestamp).where(ChatMessage.id == message_id, ChatMessage.room_id == room_id)


@cache
def _page(newer: bool, *, by_cursor: bool) -> Executable:
    """The page statement of one shape; parameters ``room_id``, ``limit`` and ``before``
    (a timestamp) or ``cursor_id`` (a message id)."""
    order = (ChatMessage.timestamp, ChatMessage.id)
    if by_cursor:
        # A row-value comparison, not `ts < x OR (ts = x AND id < y)`: both SQLite and
        # PostgreSQL turn it into a range on the (room_id, timestamp, id) index, while the
        # OR made them scan from the newest end down to the cursor.
        cursor_id = bindparam("cursor_id", type_=Integer)
        cursor_ts = _message_timestamp(bindparam("room_id"), cursor_id).scalar_subquery()
        row, cursor = tuple_(*order), tuple_(cursor_ts, cursor_id)
        boundary = row > cursor if newer else row < cursor
    else:
        before: BindParameter[datetime] = bindparam("before")
        boundary = ChatMessage.timestamp > before if newer else ChatMessage.timestamp < before
    return (
        select(
            ChatMessage.id,
            ChatMessage.author_id,
            User.name,
            ChatMessage.content,
            ChatMessage.timestamp,
            ChatMessage.edited_at,
        )
        .join(User, User.id == ChatMessage.author_id)
        .where(ChatMessage.room_id == bindparam("room_id"), ChatMessage.deleted_at.is_(None), boundary)
        .order_by(*(order if newer else (column.desc() for column in order)))
        .limit(bindparam("limit", type_=Integer))
    )
