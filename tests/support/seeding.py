"""Test data created directly in the live server's database, through the data-layer API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage
from tests.support import unique_name


@dataclass(frozen=True)
class SeededUser:
    """A user created for a test, with their login key and session token."""

    id: int
    name: str
    login_key: str
    token: str


class Seeder:
    """Creates users, rooms and messages directly in the live server's database."""

    async def user(self, name: str | None = None, *, token_expiration: timedelta | None = None) -> SeededUser:
        """Create a user and return their credentials."""
        async with db.get_session() as session:
            extra = {} if token_expiration is None else {"token_expiration": token_expiration}
            user, login_key = await db.create_user(session, user_name=name or unique_name(), **extra)
            await session.commit()
        return SeededUser(user.id, user.name, login_key, user.token.token)

    async def room(self, owner: SeededUser, *members: SeededUser, name: str | None = None) -> str:
        """Create a room owned by ``owner`` with ``members`` joined; return its hash."""
        async with db.get_session() as session:
            room = await db.create_room(session, room_name=name or unique_name("room"), creator_id=owner.id)
            for member in members:
                await db.add_user_to_room(session, user_id=member.id, room_id=room.id)
            await session.commit()
        return room.id

    async def join(self, room_hash: str, *members: SeededUser) -> None:
        """Make ``members`` join an existing room."""
        async with db.get_session() as session:
            for member in members:
                await db.add_user_to_room(session, user_id=member.id, room_id=room_hash)
            await session.commit()


@dataclass(frozen=True)
class Room:
    """A seeded room: ``owner`` and ``member`` belong to it, ``outsider`` does not."""

    hash: str
    owner: SeededUser
    member: SeededUser
    outsider: SeededUser

    def path(self, socket: str) -> str:
        """Return the path of one of this room's sockets, e.g. ``/room/<hash>/chat-message``."""
        return f"/room/{self.hash}/{socket}"


async def seed_room(*, with_member: bool = True) -> Room:
    """Create three users and a room in one transaction (fast); see :class:`Room`.

    Without ``with_member`` the room has only its owner (so it holds no "has joined"
    message) and ``member`` is the owner again.
    """
    async with db.get_session() as session:
        users = []
        for _ in range(3 if with_member else 2):
            user, login_key = await db.create_user(session, user_name=unique_name())
            users.append((user, login_key))
        chat_room = await db.create_room(session, room_name=unique_name("room"), creator_id=users[0][0].id)
        if with_member:
            await db.add_user_to_room(session, user_id=users[1][0].id, room_id=chat_room.id)
        await session.commit()
    seeded = [SeededUser(user.id, user.name, login_key, user.token.token) for user, login_key in users]
    owner, outsider = seeded[0], seeded[-1]
    return Room(chat_room.id, owner, seeded[1] if with_member else owner, outsider)


async def stored_messages(room_hash: str) -> list[ChatMessage]:
    """Return every stored message of a room, oldest first (through the data layer)."""
    async with db.get_session() as session:
        query = select(ChatMessage).where(ChatMessage.room_id == room_hash)
        rows = (await session.scalars(query.order_by(ChatMessage.timestamp, ChatMessage.id))).all()
    return list(rows)


async def seed_messages(room_hash: str, author: SeededUser, stamped: list[tuple[str, datetime]]) -> list[int]:
    """Store messages with explicit timestamps; return their ids in the given order."""
    async with db.get_session() as session:
        messages = [
            await db.create_chat_message(
                session, author_id=author.id, room_id=room_hash, content=content, timestamp=timestamp
            )
            for content, timestamp in stamped
        ]
        await session.commit()
    return [message.id for message in messages]


#: The people of a moderated room (see :func:`seed_moderated_room`).
MODERATED_ROLES = ("owner", "moderator", "moderator2", "member", "member2", "outsider", "stranger", "banned")


@dataclass(frozen=True)
class ModeratedRoom:
    """A seeded room with every kind of participant, by name (:data:`MODERATED_ROLES`).

    ``owner``; ``moderator`` and ``moderator2``; ``member`` and ``member2``; ``outsider`` and
    ``stranger`` belong to no room of theirs; ``banned`` was a member and is banned.
    """

    hash: str
    name: str
    users: dict[str, SeededUser]

    def __getitem__(self, who: str) -> SeededUser:
        return self.users[who]


async def seed_moderated_room() -> ModeratedRoom:
    """Create a :class:`ModeratedRoom` in one transaction (fast)."""
    async with db.get_session() as session:
        created = {}
        for who in MODERATED_ROLES:
            created[who] = await db.create_user(session, user_name=unique_name())
        owner = created["owner"][0]
        chat_room = await db.create_room(session, room_name=unique_name("room"), creator_id=owner.id)
        for who in ("moderator", "moderator2", "member", "member2", "banned"):
            await db.add_user_to_room(session, user_id=created[who][0].id, room_id=chat_room.id)
        for who in ("moderator", "moderator2"):
            await db.moderation.set_role(
                session, room_id=chat_room.id, user_id=created[who][0].id, role="moderator"
            )
        banned = created["banned"][0].id
        await db.moderation.ban(session, room_id=chat_room.id, user_id=banned, by_id=owner.id, reason="")
        await session.commit()
    users = {
        who: SeededUser(user.id, user.name, key, user.token.token) for who, (user, key) in created.items()
    }
    return ModeratedRoom(chat_room.id, chat_room.name, users)
