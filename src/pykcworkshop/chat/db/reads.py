"""Read positions, mentions and unread counts: the queries behind the sidebar's numbers.

A member's read position is ``room_members.last_read_id``, the id of the newest message
they have read; message ids grow with time, so "unread" is ``id > last_read_id``. Counts
walk the ``(room_id, id)`` index from the read position and stop at a cap, so a room of a
million messages costs no more than one of a hundred. Mentions are found once, when a
message is stored (:mod:`pykcworkshop.chat.mentions`), and kept in ``message_mentions``:
counting them is then an index range too, instead of scanning every unread message's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    delete,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat.constants import SYSTEM_USER_NAME, UNREAD_COUNT_CAP
from pykcworkshop.chat.db.models import ChatMessage, MessageMention, User, room_members
from pykcworkshop.chat.validation import name_key

#: Ids are INTEGER columns: PostgreSQL's are 32-bit, and asyncpg refuses larger parameters.
_MAX_INTEGER = 2**31 - 1


class UnreadRow(NamedTuple):
    """A member's read position in one room and what is newer than it (counts capped)."""

    room_id: str
    last_read_id: int
    unread: int
    mentions: int
    #: The room's newest message id when the counts were taken (0: none): a client that
    #: also counts live "message" events skips those at or below it, already counted here.
    newest_id: int = 0


def _system_user_id() -> ScalarSelect[int]:
    return select(User.id).where(User.name_key == name_key(SYSTEM_USER_NAME)).scalar_subquery()


def _newer(room: Any, message_id: Any, *, than: Any, row_values: bool) -> ColumnElement[bool]:
    """The index entries ``(room, message_id)`` of ``room_members``' room past its read position.

    Each database needs its own spelling to make this exactly the start and the end of
    one index scan (bench/unread.py, a 1,000,000-message room read to the end; see
    docs/performance.md, "Unread counts"):

    - PostgreSQL (``row_values``): two row comparisons, ``> (room, last_read_id)`` and
      ``<= (room, max id)``, and no ``room = ...`` beside them. With a plain
      ``room_id = ? AND id > ?`` its planner may walk another index (0.6 s when it took the
      mentions' primary key); with an equality on the room beside a row comparison, the
      btree scan started at the room's first entry and stepped over all it had read (50 ms).
    - SQLite: the plain ``room = ? AND message_id > ?``, which it seeks on both columns.
      A row comparison against correlated columns only seeks on the room there, so it too
      stepped over everything read.
    """
    if not row_values:
        return and_(room == than.room_id, message_id > than.last_read_id)
    position = tuple_(room, message_id)
    return and_(
        position > tuple_(than.room_id, than.last_read_id),
        position <= tuple_(than.room_id, literal(_MAX_INTEGER)),
    )


def _capped_count(rows: Select[Any], *order: Any) -> ScalarSelect[int]:
    # COUNT over a LIMITed subquery: the scan stops after UNREAD_COUNT_CAP index entries.
    # Ordered as the index is, so the planner walks that index rather than another one.
    limited = rows.correlate(room_members).order_by(*order).limit(UNREAD_COUNT_CAP).subquery()
    return select(func.count()).select_from(limited).scalar_subquery()


async def unread_counts(session: AsyncSession, user_id: int, room_id: str | None = None) -> list[UnreadRow]:
    """Return the read position and counts of every room ``user_id`` joined (or just ``room_id``).

    ``unread`` counts messages newer than the read position, except the user's own and the
    System user's (joins); ``mentions`` those of them that mention the user. Both stop at
    :data:`~pykcworkshop.chat.constants.UNREAD_COUNT_CAP` ("99+"). ``newest_id`` is the
    newest message of the room the counts include. One query for all rooms.
    """
    member = room_members.c
    row_values = session.get_bind().dialect.name == "postgresql"
    unread = _capped_count(
        select(ChatMessage.id).where(
            _newer(ChatMessage.room_id, ChatMessage.id, than=member, row_values=row_values),
            ChatMessage.author_id != user_id,
            ChatMessage.author_id != _system_user_id(),
        ),
        ChatMessage.room_id,
        ChatMessage.id,
    )
    mentions = _capped_count(
        select(MessageMention.message_id).where(
            # The user's id leads the index: an equality on it is the scan's prefix.
            MessageMention.user_id == user_id,
            _newer(MessageMention.room_id, MessageMention.message_id, than=member, row_values=row_values),
        ),
        MessageMention.user_id,
        MessageMention.room_id,
        MessageMention.message_id,
    )
    # In the same statement, so the same snapshot as the counts; the (room_id, id) index's
    # last entry of the room.
    newest = (
        select(func.coalesce(func.max(ChatMessage.id), 0))
        .where(ChatMessage.room_id == member.room_id)
        .correlate(room_members)
        .scalar_subquery()
    )
    query = select(member.room_id, member.last_read_id, unread, mentions, newest).where(
        member.user_id == user_id
    )
    if room_id is not None:
        query = query.where(member.room_id == room_id)
    rows = (await session.execute(query.order_by(member.room_id))).all()
    return [UnreadRow(*row) for row in rows]


async def message_in_room(session: AsyncSession, *, message_id: int, room_id: str) -> bool:
    """Return whether message ``message_id`` exists and belongs to ``room_id``."""
    if not 0 < message_id <= _MAX_INTEGER:
        return False  # no such id can be stored, and PostgreSQL refuses to compare it
    query = select(ChatMessage.id).where(ChatMessage.id == message_id, ChatMessage.room_id == room_id)
    return (await session.scalar(query)) is not None


async def advance_read_position(
    session: AsyncSession, *, user_id: int, room_id: str, message_id: int
) -> bool:
    """Move the member's read position forward to ``message_id``; never backwards.

    Returns whether it moved. The caller checks membership and that the message is in the
    room, and commits.
    """
    statement = (
        update(room_members)
        .where(
            room_members.c.user_id == user_id,
            room_members.c.room_id == room_id,
            room_members.c.last_read_id < message_id,
        )
        .values(last_read_id=message_id)
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def read_up_to_latest(session: AsyncSession, *, user_id: int, room_id: str) -> None:
    """Set the member's read position to the room's newest message (a newcomer starts there)."""
    latest = select(func.coalesce(func.max(ChatMessage.id), 0)).where(ChatMessage.room_id == room_id)
    await session.execute(
        update(room_members)
        .where(room_members.c.user_id == user_id, room_members.c.room_id == room_id)
        .values(last_read_id=latest.scalar_subquery())
    )


async def member_names(session: AsyncSession, room_id: str) -> list[tuple[int, str]]:
    """Return ``(user_id, name)`` of every member of ``room_id``."""
    query = (
        select(User.id, User.name)
        .join(room_members, room_members.c.user_id == User.id)
        .where(room_members.c.room_id == room_id)
    )
    return [(user_id, name) for user_id, name in (await session.execute(query)).all()]


def add_mentions(session: AsyncSession, *, message_id: int, room_id: str, user_ids: Iterable[int]) -> None:
    """Record that the stored message ``message_id`` of ``room_id`` mentions these users."""
    session.add_all(
        MessageMention(message_id=message_id, user_id=user_id, room_id=room_id) for user_id in user_ids
    )


async def mentioned_users(session: AsyncSession, message_id: int) -> set[int]:
    """Return the ids of the users the stored message ``message_id`` mentions."""
    query = select(MessageMention.user_id).where(MessageMention.message_id == message_id)
    return set(await session.scalars(query))


async def replace_mentions(
    session: AsyncSession, *, message_id: int, room_id: str, user_ids: Iterable[int]
) -> None:
    """Make ``user_ids`` the only users the message ``message_id`` mentions (after an edit)."""
    await session.execute(delete(MessageMention).where(MessageMention.message_id == message_id))
    add_mentions(session, message_id=message_id, room_id=room_id, user_ids=user_ids)
