"""Seed users, rooms and messages through the public data layer (``pykcworkshop.chat.db``).

The server under test reads the same database; credentials for its websockets are the
users' session tokens and a CSRF token signed with the server's ``SECRET_KEY`` (set in
this process's environment before :func:`subprotocols` is called).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pykcworkshop.chat import db
from pykcworkshop.chat.tokens import generate_csrf


@dataclass
class SeededRoom:
    """A room and the session tokens of its members (the owner first)."""

    room_hash: str
    tokens: list[str]
    user_ids: list[int]


async def seed_rooms(db_uri: str, members: list[int], *, prefix: str = "bench") -> list[SeededRoom]:
    """Create one room per entry of ``members``, each with that many distinct users.

    Returns the rooms with their members' session tokens. Users are unique per room, so
    ``members=[10] * 100`` makes 1,000 users.
    """
    db.connect(db_uri)
    await db.initialize()
    rooms: list[SeededRoom] = []
    try:
        async with db.get_session() as session:
            for number, count in enumerate(members):
                owner, _key = await db.create_user(session, user_name=f"{prefix}{number}-0")
                room = await db.create_room(session, room_name=f"{prefix}-room-{number}", creator_id=owner.id)
                seeded = SeededRoom(room.id, [owner.token.token], [owner.id])
                for index in range(1, count):
                    user, _key = await db.create_user(session, user_name=f"{prefix}{number}-{index}")
                    await db.add_user_to_room(session, user_id=user.id, room_id=room.id)
                    seeded.tokens.append(user.token.token)
                    seeded.user_ids.append(user.id)
                rooms.append(seeded)
                if number % 10 == 9:
                    await session.commit()
            await session.commit()
    finally:
        await db.dispose()
    return rooms


def subprotocols(token: str | None) -> list[str]:
    """Return the subprotocol list our frontend offers: ``chat.v1``, CSRF and bearer."""
    assert os.environ.get("SECRET_KEY"), "set SECRET_KEY to the server's before signing CSRF tokens"
    entries = ["chat.v1", f"csrf{generate_csrf()}"]
    if token is not None:
        entries.append(f"Bearer{token}")
    return entries
