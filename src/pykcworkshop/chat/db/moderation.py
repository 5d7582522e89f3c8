"""Queries of room moderation: roles, mutes, bans, removing members, editing and deleting messages, rooms.

Like :mod:`.queries`, helpers take an ``AsyncSession`` first and leave the commit to the
caller. Who may do what is decided above this layer (:mod:`pykcworkshop.chat.moderation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, NamedTuple

from sqlalchemy import ColumnElement, and_, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat.constants import SYSTEM_USER_NAME
from pykcworkshop.chat.db.models import ChatMessage, Room, RoomBan, User, room_members
from pykcworkshop.chat.db.queries import create_chat_message, get_user_by_name
from pykcworkshop.chat.validation import name_key
from pykcworkshop.utils import now

Role = Literal["owner", "moderator", "member"]
ROLES: tuple[Role, ...] = ("owner", "moderator", "member")


class Membership(NamedTuple):
    """One member of a room, with their role and mute."""

    user_id: int
    user_name: str
    role: Role
    #: Aware UTC, or None when not muted (a past time counts as not muted).
    muted_until: datetime | None


class Ban(NamedTuple):
    """One ban of a room."""

    user_id: int
    user_name: str
    by_id: int | None
    by_name: str | None
    reason: str
    at: datetime


async def membership(session: AsyncSession, *, room_id: str, user_id: int) -> Membership | None:
    """Return ``user_id``'s membership of ``room_id``, or None if they are not a member."""
    query = (
        select(room_members.c.user_id, User.name, room_members.c.role, room_members.c.muted_until)
        .join(User, User.id == room_members.c.user_id)
        .where(room_members.c.room_id == room_id, room_members.c.user_id == user_id)
    )
    row = (await session.execute(query)).first()
    return None if row is None else Membership(*row)


async def memberships(session: AsyncSession, room_id: str) -> list[Membership]:
    """Return every member of ``room_id``, by name."""
    query = (
        select(room_members.c.user_id, User.name, room_members.c.role, room_members.c.muted_until)
        .join(User, User.id == room_members.c.user_id)
        .where(room_members.c.room_id == room_id)
        .order_by(User.name_key, User.id)
    )
    return [Membership(*row) for row in (await session.execute(query)).all()]


async def muted_until(session: AsyncSession, *, room_id: str, user_id: int) -> datetime | None:
    """Return until when ``user_id`` is muted in ``room_id``, or None if they may post now."""
    return (await muted_authors(session, [(room_id, user_id)])).get((room_id, user_id))


async def muted_authors(
    session: AsyncSession, authors: Iterable[tuple[str, int]], *, moment: datetime | None = None
) -> dict[tuple[str, int], datetime]:
    """Return ``{(room_id, user_id): until}`` for those of ``authors`` muted at ``moment`` (now).

    One query for a whole batch of messages (:mod:`pykcworkshop.chat.groupcommit`), so
    the check costs no round trip per message.
    """
    pairs = sorted(set(authors))
    if not pairs:
        return {}
    member = room_members.c
    query = select(member.room_id, member.user_id, member.muted_until).where(
        tuple_(member.room_id, member.user_id).in_(pairs), member.muted_until.is_not(None)
    )
    moment = moment or now()
    return {
        (room_id, user_id): until
        for room_id, user_id, until in (await session.execute(query)).all()
        if until > moment
    }


def _member(room_id: str, user_id: int) -> ColumnElement[bool]:
    return and_(room_members.c.room_id == room_id, room_members.c.user_id == user_id)


async def set_role(session: AsyncSession, *, room_id: str, user_id: int, role: Role) -> None:
    """Give a member of the room ``role`` (use :func:`transfer_ownership` for the owner)."""
    await session.execute(update(room_members).where(_member(room_id, user_id)).values(role=role))


async def transfer_ownership(session: AsyncSession, *, room_id: str, new_owner_id: int) -> None:
    """Make the member ``new_owner_id`` the owner; the previous owner becomes a moderator."""
    room = await session.get_one(Room, room_id)
    await set_role(session, room_id=room_id, user_id=room.owner_id, role="moderator")
    await set_role(session, room_id=room_id, user_id=new_owner_id, role="owner")
    await session.execute(update(Room).where(Room.id == room_id).values(owner_id=new_owner_id))


async def set_mute(session: AsyncSession, *, room_id: str, user_id: int, until: datetime | None) -> None:
    """Mute a member until ``until`` (aware), or unmute them with None."""
    await session.execute(update(room_members).where(_member(room_id, user_id)).values(muted_until=until))


async def remove_member(session: AsyncSession, *, room_id: str, user_id: int) -> None:
    """End ``user_id``'s membership of ``room_id`` (kicked, banned or left)."""
    await session.execute(delete(room_members).where(_member(room_id, user_id)))


async def ban(session: AsyncSession, *, room_id: str, user_id: int, by_id: int, reason: str) -> None:
    """Ban ``user_id`` from the room (ending their membership) until :func:`unban`."""
    await remove_member(session, room_id=room_id, user_id=user_id)
    session.add(RoomBan(room_id=room_id, user_id=user_id, by_id=by_id, reason=reason, at=now()))
    await session.flush()


async def unban(session: AsyncSession, *, room_id: str, user_id: int) -> bool:
    """Lift a ban; return whether there was one."""
    result = await session.execute(
        delete(RoomBan).where(RoomBan.room_id == room_id, RoomBan.user_id == user_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def is_banned(session: AsyncSession, *, room_id: str, user_id: int) -> bool:
    """Return whether ``user_id`` is banned from ``room_id``."""
    query = select(RoomBan.user_id).where(RoomBan.room_id == room_id, RoomBan.user_id == user_id)
    return (await session.scalar(query)) is not None


async def bans(session: AsyncSession, room_id: str) -> list[Ban]:
    """Return the room's bans, newest first."""
    banned, by = User.__table__.alias("banned"), User.__table__.alias("by")
    query = (
        select(RoomBan.user_id, banned.c.name, RoomBan.by_id, by.c.name, RoomBan.reason, RoomBan.at)
        .join(banned, banned.c.id == RoomBan.user_id)
        .outerjoin(by, by.c.id == RoomBan.by_id)
        .where(RoomBan.room_id == room_id)
        .order_by(RoomBan.at.desc(), RoomBan.user_id)
    )
    return [Ban(*row) for row in (await session.execute(query)).all()]


async def room_message(session: AsyncSession, *, room_id: str, message_id: int) -> ChatMessage | None:
    """Return the message ``message_id`` of ``room_id`` unless it is absent or deleted."""
    message = await session.get(ChatMessage, message_id)
    if message is None or message.room_id != room_id or message.deleted_at is not None:
        return None
    return message


async def delete_message(session: AsyncSession, message: ChatMessage, *, by_id: int) -> None:
    """Mark ``message`` deleted by ``by_id`` now; history no longer returns it."""
    message.deleted_at = now()
    message.deleted_by = by_id
    await session.flush()


async def edit_message(session: AsyncSession, message: ChatMessage, content: str) -> None:
    """Replace ``message``'s text with ``content`` and mark it edited now."""
    message.content = content
    message.edited_at = now()
    await session.flush()


async def rename_room(session: AsyncSession, room: Room, room_name: str) -> None:
    """Rename ``room`` (the caller checked that its owner owns no other room of that name)."""
    room.name = room_name
    room.name_key = name_key(room_name)
    await session.flush()


async def delete_room(session: AsyncSession, room_id: str) -> list[int]:
    """Delete the room with its memberships, bans and messages; return its members' ids."""
    members = [member.user_id for member in await memberships(session, room_id)]
    await session.execute(delete(ChatMessage).where(ChatMessage.room_id == room_id))
    await session.execute(delete(RoomBan).where(RoomBan.room_id == room_id))
    await session.execute(delete(room_members).where(room_members.c.room_id == room_id))
    await session.execute(delete(Room).where(Room.id == room_id))
    return members


async def system_message(session: AsyncSession, *, room_id: str, content: str) -> ChatMessage:
    """Write a message by the System user into the room (flushed, so it has its id)."""
    system = await get_user_by_name(session, SYSTEM_USER_NAME)
    message = await create_chat_message(session, author_id=system.id, room_id=room_id, content=content)
    message.author = system
    await session.flush()
    return message
