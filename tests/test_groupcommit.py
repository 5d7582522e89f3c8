"""Group commit of chat messages (:mod:`pykcworkshop.chat.groupcommit`) on the live server's database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from pykcworkshop.chat import db, groupcommit
from pykcworkshop.chat.db.message_batches import NewMessage, Outcome, store_messages
from pykcworkshop.chat.db.models import ChatMessage, MessageMention
from pykcworkshop.utils import now
from tests.support.seeding import Room, seed_room, stored_messages

pytestmark = pytest.mark.usefixtures("database")


async def test_concurrent_messages_share_one_transaction_and_keep_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = await seed_room()
    batches: list[int] = []  # each store_messages call is one transaction

    async def counted(batch: list[NewMessage], *, moment: datetime) -> list[Outcome]:
        batches.append(len(batch))
        return await store_messages(batch, moment=moment)

    monkeypatch.setattr(groupcommit, "store_messages", counted)
    stored = await asyncio.gather(
        *(groupcommit.store(author_id=room.owner.id, room_id=room.hash, content=f"m{n}") for n in range(50))
    )
    ids = [message_id for message_id, _ in stored]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert sum(batches) == 50 and len(batches) <= 2  # the first message may go alone
    async with db.get_session() as session:
        rows = (
            await session.execute(
                select(ChatMessage.id, ChatMessage.content, ChatMessage.timestamp).where(
                    ChatMessage.id.in_(ids)
                )
            )
        ).all()
    assert sorted(rows) == [(message_id, f"m{n}", at) for n, (message_id, at) in enumerate(stored)]


async def test_a_writer_that_fails_unexpectedly_answers_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bug in the writer must not leave the handlers waiting forever.
    room = await seed_room()

    async def broken(batch: list[NewMessage], *, moment: datetime) -> list[Outcome]:
        raise TypeError("a bug")

    monkeypatch.setattr(groupcommit, "store_messages", broken)
    results = await asyncio.wait_for(
        asyncio.gather(
            *(groupcommit.store(author_id=room.owner.id, room_id=room.hash, content="x") for _ in range(3)),
            return_exceptions=True,
        ),
        timeout=5,
    )
    assert all(isinstance(result, groupcommit.NotStored) for result in results)


async def test_a_message_the_database_refuses_fails_alone():
    room = await seed_room()
    good = [groupcommit.store(author_id=room.owner.id, room_id=room.hash, content="fine") for _ in range(3)]
    bad = groupcommit.store(author_id=room.owner.id, room_id="no-such-room", content="orphan")
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(isinstance(result, tuple) for result in results[:3])
    assert isinstance(results[3], groupcommit.NotStored)


async def test_the_writer_task_ends_when_nothing_is_queued():
    room = await seed_room()
    await groupcommit.store(author_id=room.owner.id, room_id=room.hash, content="alone")
    await asyncio.sleep(0)
    writer = groupcommit._writers[asyncio.get_running_loop()]
    assert writer.task is None and not writer.queue


async def test_a_muted_authors_message_in_a_batch_is_refused_alone():
    # The batch's one mute query answers the muted author with Muted; the rest are stored.
    room = await seed_room()
    until = now() + timedelta(minutes=5)
    async with db.get_session() as session:
        await db.moderation.set_mute(session, room_id=room.hash, user_id=room.member.id, until=until)
        await session.commit()
    results = await asyncio.gather(
        groupcommit.store(author_id=room.owner.id, room_id=room.hash, content="before"),
        groupcommit.store(author_id=room.member.id, room_id=room.hash, content="hushed"),
        groupcommit.store(author_id=room.owner.id, room_id=room.hash, content="after"),
        return_exceptions=True,
    )
    muted = results[1]
    assert isinstance(muted, groupcommit.Muted) and muted.until == until
    assert all(isinstance(result, tuple) for result in (results[0], results[2]))
    contents = [message.content for message in await stored_messages(room.hash) if not system(room, message)]
    assert contents == ["before", "after"]


def system(room: Room, message: ChatMessage) -> bool:
    # The "has joined" message of the seeded member is the System user's.
    return message.author_id not in (room.owner.id, room.member.id)


async def test_mentions_are_recorded_in_the_messages_transaction():
    room = await seed_room()
    stored = await asyncio.gather(
        groupcommit.store(author_id=room.owner.id, room_id=room.hash, content="plain"),
        groupcommit.store(
            author_id=room.owner.id, room_id=room.hash, content="hi", mentioned=frozenset({room.member.id})
        ),
    )
    async with db.get_session() as session:
        rows = (await session.execute(select(MessageMention.message_id, MessageMention.user_id))).all()
    assert (stored[1][0], room.member.id) in rows
    assert all(message_id != stored[0][0] for message_id, _ in rows)
