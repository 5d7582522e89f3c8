"""The moderation queries of ``pykcworkshop.chat.db.moderation``, on the live server's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pykcworkshop.chat import db
from pykcworkshop.chat.db import moderation
from pykcworkshop.utils import now
from tests.support.seeding import seed_messages, seed_room

pytestmark = pytest.mark.usefixtures("database")


async def test_the_creator_is_owner_and_joiners_are_members():
    room = await seed_room()
    async with db.get_session() as session:
        members = {m.user_id: m.role for m in await moderation.memberships(session, room.hash)}
    assert members == {room.owner.id: "owner", room.member.id: "member"}


async def test_history_leaves_deleted_messages_out():
    room = await seed_room()
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    kept, gone = await seed_messages(
        room.hash, room.member, [("kept", t0), ("gone", t0 + timedelta(seconds=1))]
    )
    async with db.get_session() as session:
        message = await moderation.room_message(session, room_id=room.hash, message_id=gone)
        assert message is not None
        await moderation.delete_message(session, message, by_id=room.owner.id)
        await session.commit()
    async with db.get_session() as session:
        rows = await db.get_history(
            session, room_id=room.hash, before=t0 - timedelta(1), chunk_size=10, newer=True
        )
        assert await moderation.room_message(session, room_id=room.hash, message_id=gone) is None
    assert [row.id for row in rows][:1] == [kept] and gone not in [row.id for row in rows]


async def test_transfer_keeps_owner_id_and_roles_consistent():
    room = await seed_room()
    async with db.get_session() as session:
        await moderation.transfer_ownership(session, room_id=room.hash, new_owner_id=room.member.id)
        await session.commit()
    async with db.get_session() as session:
        stored = await db.get_room_by_id(session, room.hash)
        members = {m.user_id: m.role for m in await moderation.memberships(session, room.hash)}
    assert stored.owner_id == room.member.id
    assert members == {room.owner.id: "moderator", room.member.id: "owner"}


async def test_ban_removes_the_member_until_unbanned():
    room = await seed_room()
    async with db.get_session() as session:
        await moderation.ban(
            session, room_id=room.hash, user_id=room.member.id, by_id=room.owner.id, reason="spam"
        )
        await session.commit()
    async with db.get_session() as session:
        assert not await db.is_member(session, user_id=room.member.id, room_id=room.hash)
        assert await moderation.is_banned(session, room_id=room.hash, user_id=room.member.id)
        [ban] = await moderation.bans(session, room.hash)
        assert (ban.user_id, ban.by_name, ban.reason) == (room.member.id, room.owner.name, "spam")
        assert await moderation.unban(session, room_id=room.hash, user_id=room.member.id)
        assert not await moderation.unban(session, room_id=room.hash, user_id=room.member.id)
        await session.commit()


async def test_a_past_mute_counts_as_not_muted():
    room = await seed_room()
    async with db.get_session() as session:
        until = now() + timedelta(minutes=5)
        await moderation.set_mute(session, room_id=room.hash, user_id=room.member.id, until=until)
        assert await moderation.muted_until(session, room_id=room.hash, user_id=room.member.id) == until
        await moderation.set_mute(
            session, room_id=room.hash, user_id=room.member.id, until=now() - timedelta(1)
        )
        assert await moderation.muted_until(session, room_id=room.hash, user_id=room.member.id) is None
        await session.commit()


async def test_delete_room_removes_everything_and_returns_the_members():
    room = await seed_room()
    async with db.get_session() as session:
        members = await moderation.delete_room(session, room.hash)
        await session.commit()
    async with db.get_session() as session:
        assert not await db.room_exists(session, room.hash)
    assert sorted(members) == sorted([room.owner.id, room.member.id])
