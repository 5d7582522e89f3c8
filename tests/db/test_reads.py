"""Read positions, mentions and unread counts in the data layer (``chat/db/reads.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from pykcworkshop.chat import db
from pykcworkshop.chat.constants import UNREAD_COUNT_CAP
from pykcworkshop.chat.db.models import ChatMessage
from pykcworkshop.chat.messages import record_chat_message
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.utils import now
from tests.support.seeding import Room, seed_messages, seed_room

pytestmark = pytest.mark.usefixtures("database")


async def counts(user_id: int, room_hash: str) -> db.UnreadRow:
    async with db.get_session() as session:
        (row,) = await db.unread_counts(session, user_id, room_hash)
    return row


async def advance(user_id: int, room_hash: str, message_id: int) -> bool:
    async with db.get_session() as session:
        moved = await db.advance_read_position(
            session, user_id=user_id, room_id=room_hash, message_id=message_id
        )
        await session.commit()
    return moved


def claims(user_id: int, name: str) -> UserTokenClaims:
    return UserTokenClaims(user_id=user_id, user_name=name, expires_at=now() + timedelta(days=1))


async def say(room: Room, author: str, content: str) -> int:
    user = room.owner if author == "owner" else room.member
    body, _ = await record_chat_message(claims(user.id, user.name), room.hash, content)
    return int(body["id"])


async def test_a_newcomer_starts_with_everything_read() -> None:
    room = await seed_room(with_member=False)
    ids = await seed_messages(room.hash, room.owner, [(f"m{i}", now()) for i in range(3)])
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=room.outsider.id, room_id=room.hash)
        await session.commit()
    row = await counts(room.outsider.id, room.hash)
    assert (row.last_read_id, row.unread, row.mentions) == (ids[-1], 0, 0)


async def test_unread_counts_others_messages_after_the_position() -> None:
    room = await seed_room()
    before = await counts(room.member.id, room.hash)
    assert before.unread == 0  # the member's own join message is the System user's
    first = await say(room, "owner", "one")
    await say(room, "owner", "two")
    await say(room, "member", "mine do not count")
    row = await counts(room.member.id, room.hash)
    assert (row.unread, row.mentions) == (2, 0)
    assert await advance(room.member.id, room.hash, first)
    assert (await counts(room.member.id, room.hash)).unread == 1
    # The owner has not read the member's message.
    assert (await counts(room.owner.id, room.hash)).unread == 1


async def test_the_position_never_moves_backwards() -> None:
    room = await seed_room()
    first = await say(room, "owner", "one")
    second = await say(room, "owner", "two")
    assert await advance(room.member.id, room.hash, second)
    assert not await advance(room.member.id, room.hash, first)
    assert not await advance(room.member.id, room.hash, second)
    assert (await counts(room.member.id, room.hash)).last_read_id == second


async def test_mentions_are_stored_with_the_message_and_counted() -> None:
    room = await seed_room()
    await say(room, "owner", f"hey @{room.member.name.upper()}!")
    await say(room, "owner", f"mail {room.member.name}@example.com")  # no mention
    await say(room, "owner", f"@{room.outsider.name} is not a member")
    mentioning = await say(room, "owner", f"@{room.member.name} and @{room.owner.name}")
    row = await counts(room.member.id, room.hash)
    assert (row.unread, row.mentions) == (4, 2)
    # Mentioning yourself counts nothing: your own messages are never unread.
    assert (await counts(room.owner.id, room.hash)).mentions == 0
    await advance(room.member.id, room.hash, mentioning)
    assert (await counts(room.member.id, room.hash)).mentions == 0


async def test_all_joined_rooms_in_one_call() -> None:
    room = await seed_room()
    other = await seed_room()
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=room.member.id, room_id=other.hash)
        await session.commit()
    await say(room, "owner", "news")
    async with db.get_session() as session:
        rows = {row.room_id: row for row in await db.unread_counts(session, room.member.id)}
    assert set(rows) == {room.hash, other.hash}
    assert (rows[room.hash].unread, rows[other.hash].unread) == (1, 0)


async def test_counts_stop_at_the_cap_on_a_big_room() -> None:
    # 50,000 messages inserted in bulk (bench/unread.py measures 1,000,000).
    room = await seed_room()
    stamp = now()
    rows = [{"author_id": room.owner.id, "room_id": room.hash, "content": "x", "timestamp": stamp}] * 50_000
    async with db.get_session() as session:
        await session.execute(insert(ChatMessage), rows)
        await session.commit()
    row = await counts(room.member.id, room.hash)
    assert row.unread == UNREAD_COUNT_CAP
    async with db.get_session() as session:
        latest = await session.scalar(
            select(func.max(ChatMessage.id)).where(ChatMessage.room_id == room.hash)
        )
    assert latest is not None
    await advance(room.member.id, room.hash, latest - 7)
    assert (await counts(room.member.id, room.hash)).unread == 7


async def test_message_in_room() -> None:
    room = await seed_room()
    other = await seed_room()
    message = await say(room, "owner", "here")
    async with db.get_session() as session:
        assert await db.message_in_room(session, message_id=message, room_id=room.hash)
        assert not await db.message_in_room(session, message_id=message, room_id=other.hash)
        assert not await db.message_in_room(session, message_id=message + 10**6, room_id=room.hash)
        assert not await db.message_in_room(session, message_id=2**40, room_id=room.hash)
