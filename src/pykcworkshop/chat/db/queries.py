"""The query helpers of the data layer: users, rooms, memberships, messages, history.

Helpers take an ``AsyncSession`` first and do not commit unless their own consistency
needs it; the caller commits. They flush where needed so that returned objects carry ids.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from pykcworkshop.chat import tokens
from pykcworkshop.chat.confusables import name_skeleton
from pykcworkshop.chat.constants import ROOM_HASH_BYTES, SYSTEM_USER_NAME, USER_TOKEN_LIFETIME
from pykcworkshop.chat.db.models import ChatMessage, Room, User, UserToken, room_members
from pykcworkshop.chat.db.reads import read_up_to_latest
from pykcworkshop.chat.validation import is_room_hash, name_key
from pykcworkshop.utils import now


class NameTaken(ValueError):
    """A user name, or a room name for the same owner, is already taken."""


class AlreadyMember(ValueError):
    """The user is already a member of the room."""


async def create_user(
    session: AsyncSession, *, user_name: str, token_expiration: timedelta = USER_TOKEN_LIFETIME
) -> tuple[User, str]:
    """Create a user with a session token valid for ``token_expiration``.

    Returns the user (with its token row) and the login key, which is not stored anywhere:
    hand it to the user. Raises :class:`NameTaken` if the name is taken (any case); when
    that is only found at the database (a concurrent sign-up), the session must be rolled back.
    """
    # Stored as given (trimmed); the API layer has NFKC-normalised it already. The keys are
    # normalised either way, so "taken" holds for callers of the data layer too.
    name = user_name.strip()
    if await user_name_taken(session, name):
        raise NameTaken(f"user name {name!r} is taken")
    user = User(name=name, name_key=name_key(name), name_skeleton=name_skeleton(name), joined_rooms=[])
    session.add(user)
    await _flush_unique(session, NameTaken(f"user name {name!r} is taken"))
    login_key = tokens.new_login_key(user.id)
    user.login_key_hash = tokens.hash_login_key(login_key)
    expires_at = now() + token_expiration
    user.token = UserToken(
        token=tokens.generate_user_token(user_id=user.id, user_name=name, expires_at=expires_at),
        expires_at=expires_at,
    )
    await session.flush()
    return user, login_key


async def _flush_unique(session: AsyncSession, error: ValueError) -> None:
    # The checks before each insert catch the usual case; this catches a concurrent
    # request that inserted the same key in between. (No savepoint: SQLite's driver
    # mishandles them, and the caller has to roll back after a lost race anyway.)
    try:
        await session.flush()
    except IntegrityError as integrity_error:
        raise error from integrity_error


async def create_room(session: AsyncSession, *, room_name: str, creator_id: int) -> Room:
    """Create a room owned by ``creator_id``, who also becomes its first member.

    Raises :class:`NameTaken` if the creator already owns a room of that name (any case),
    and ``NoResultFound`` if the creator does not exist.
    """
    creator = await get_user_by_id(session, creator_id)
    name = room_name.strip()
    if await room_name_owned(session, owner_id=creator_id, room_name=name):
        raise NameTaken(f"you already own a room named {name!r}")
    room = Room(
        id=secrets.token_urlsafe(ROOM_HASH_BYTES),
        name=name,
        name_key=name_key(name),
        owner=creator,
        members=[creator],
    )
    session.add(room)
    await _flush_unique(session, NameTaken(f"you already own a room named {name!r}"))
    # The membership row was written with the default role: the creator owns the room.
    where = (room_members.c.room_id == room.id, room_members.c.user_id == creator_id)
    await session.execute(update(room_members).where(*where).values(role="owner"))
    return room


async def add_user_to_room(session: AsyncSession, *, user_id: int, room_id: str) -> None:
    """Make ``user_id`` a member of ``room_id`` and write "<name> has joined the chat.".

    Raises :class:`AlreadyMember` if they already are, and ``NoResultFound`` if the user or
    room does not exist.
    """
    await join_room(session, user_id=user_id, room_id=room_id)


async def join_room(session: AsyncSession, *, user_id: int, room_id: str) -> ChatMessage:
    """Like :func:`add_user_to_room`, and return the join message (to broadcast it)."""
    user = await get_user_by_id(session, user_id)
    room = await get_room_by_id(session, room_id)
    already = AlreadyMember(f"{user.name} is already a member of this room")
    if any(member.id == user_id for member in room.members):
        raise already
    # Through the ORM, so collections already loaded in this session stay truthful.
    room.members.append(user)
    await _flush_unique(session, already)
    # A newcomer starts with the room's past read, not with thousands of unread messages.
    await read_up_to_latest(session, user_id=user_id, room_id=room_id)
    system = await get_user_by_name(session, SYSTEM_USER_NAME)
    message = await create_chat_message(
        session, author_id=system.id, room_id=room_id, content=f"{user.name} has joined the chat."
    )
    message.author = system
    await session.flush()
    return message


async def create_chat_message(
    session: AsyncSession,
    *,
    author_id: int,
    room_id: str,
    content: str,
    timestamp: datetime | None = None,
) -> ChatMessage:
    """Add a chat message to the session (no flush, so concurrent calls are safe).

    ``timestamp`` defaults to :func:`pykcworkshop.utils.now`; it must be timezone-aware.
    """
    message = ChatMessage(
        author_id=author_id,
        room_id=room_id,
        content=content,
        timestamp=timestamp or now(),
    )
    session.add(message)
    return message


async def get_user_by_id(session: AsyncSession, user_id: int) -> User:
    """Return the user with ``user_id`` and their rooms; raise ``NoResultFound`` if absent."""
    query = select(User).where(User.id == user_id).options(selectinload(User.joined_rooms))
    return (await session.execute(query)).scalars().one()


async def get_user_by_name(session: AsyncSession, user_name: str) -> User:
    """Return the user named ``user_name`` (any case); raise ``NoResultFound`` if absent."""
    query = select(User).where(User.name_key == name_key(user_name)).options(selectinload(User.joined_rooms))
    return (await session.execute(query)).scalars().one()


async def get_room_by_id(session: AsyncSession, room_id: str) -> Room:
    """Return the room whose hash is ``room_id`` with its members; ``NoResultFound`` if absent."""
    if not is_room_hash(room_id):  # e.g. "%00" in a path: PostgreSQL would refuse the query
        raise NoResultFound(f"{room_id!r} is not a room hash")
    query = select(Room).where(Room.id == room_id).options(selectinload(Room.members))
    return (await session.execute(query)).scalars().one()


async def user_name_taken(session: AsyncSession, user_name: str) -> bool:
    """Return whether a user with this name (any case) or a look-alike of it exists."""
    query = select(User.id).where(
        or_(User.name_key == name_key(user_name), User.name_skeleton == name_skeleton(user_name))
    )
    return (await session.scalar(query.limit(1))) is not None


async def room_name_owned(session: AsyncSession, *, owner_id: int, room_name: str) -> bool:
    """Return whether ``owner_id`` owns a room with this name (any case) or a look-alike."""
    # An owner has few rooms: their skeletons are compared here rather than stored.
    names = (await session.scalars(select(Room.name).where(Room.owner_id == owner_id))).all()
    key, look = name_key(room_name), name_skeleton(room_name)
    return any(name_key(name) == key or name_skeleton(name) == look for name in names)


async def is_member(session: AsyncSession, *, user_id: int, room_id: str) -> bool:
    """Return whether ``user_id`` is a member of ``room_id``."""
    if not is_room_hash(room_id):
        return False
    query = select(room_members.c.user_id).where(
        room_members.c.room_id == room_id, room_members.c.user_id == user_id
    )
    return (await session.scalar(query)) is not None


async def room_exists(session: AsyncSession, room_id: str) -> bool:
    """Return whether a room with this hash exists (without a query if it cannot)."""
    if not is_room_hash(room_id):
        return False
    return (await session.scalar(select(Room.id).where(Room.id == room_id))) is not None


async def share_a_room(session: AsyncSession, user_a: int, user_b: int) -> bool:
    """Return whether the two users are members of at least one common room."""
    a, b = room_members.alias("a"), room_members.alias("b")
    query = (
        select(a.c.room_id)
        .join(b, and_(a.c.room_id == b.c.room_id, b.c.user_id == user_b))
        .where(a.c.user_id == user_a)
        .limit(1)
    )
    return (await session.scalar(query)) is not None


async def rooms_of_user(session: AsyncSession, user_id: int, *, owned: bool) -> Sequence[Room]:
    """Return the rooms ``user_id`` owns (``owned``) or has joined, by name."""
    if owned:
        query = select(Room).where(Room.owner_id == user_id)
    else:
        query = select(Room).join(room_members).where(room_members.c.user_id == user_id)
    return (await session.scalars(query.order_by(Room.name_key, Room.id))).all()
