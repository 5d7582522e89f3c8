"""Objects fetched with a plain ``select()`` stay readable after their session closes.

Outside suites read relationships of models they queried themselves, often after the
session is gone; every relationship of the data-layer contract must be loaded eagerly.
"""

from __future__ import annotations

from sqlalchemy import select

from pykcworkshop.chat import db
from pykcworkshop.chat.db import models
from tests.support.seeding import Room


async def test_user_relationships_are_readable_after_the_session_closes(room: Room) -> None:
    async with db.get_session() as session:
        owner = (await session.scalars(select(models.User).where(models.User.id == room.owner.id))).one()
        member = (await session.scalars(select(models.User).where(models.User.id == room.member.id))).one()
    assert [r.id for r in owner.joined_rooms] == [room.hash]
    assert [r.id for r in owner.owned_rooms] == [room.hash]
    assert owner.token.token == room.owner.token
    assert [r.id for r in member.joined_rooms] == [room.hash]
    assert member.owned_rooms == []


async def test_room_relationships_are_readable_after_the_session_closes(room: Room) -> None:
    async with db.get_session() as session:
        chat_room = (await session.scalars(select(models.Room).where(models.Room.id == room.hash))).one()
    assert {user.id for user in chat_room.members} == {room.owner.id, room.member.id}
    assert chat_room.owner.id == room.owner.id
    assert chat_room.owner.name == room.owner.name


async def test_message_relationships_are_readable_after_the_session_closes(room: Room) -> None:
    async with db.get_session() as session:
        message = (
            await session.scalars(select(models.ChatMessage).where(models.ChatMessage.room_id == room.hash))
        ).one()  # the member's "has joined" message
    assert message.author.name == "System"
    assert message.room.id == room.hash
    assert message.room.name


async def test_default_timestamp_comes_from_the_shared_clock(room: Room) -> None:
    from pykcworkshop.utils import now

    before = now()
    async with db.get_session() as session:
        message = await db.create_chat_message(
            session, author_id=room.owner.id, room_id=room.hash, content="clock"
        )
        await session.commit()
    assert before <= message.timestamp <= now()
    assert message.timestamp.utcoffset() is not None and message.timestamp.utcoffset().total_seconds() == 0
