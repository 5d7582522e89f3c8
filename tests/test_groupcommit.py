"""Group commit of chat messages (:mod:`pykcworkshop.chat.groupcommit`) on the live server's database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from pykcworkshop.chat import db, groupcommit
from pykcworkshop.chat.db.models import ChatMessage
from tests.support.seeding import seed_room

pytestmark = pytest.mark.usefixtures("database")


async def test_concurrent_messages_share_one_transaction_and_keep_their_order():
    room = await seed_room()
    commits: list[object] = []
    engine = db.get_engine().sync_engine
    listener = lambda connection: commits.append(connection)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        stored = await asyncio.gather(
            *(
                groupcommit.store(author_id=room.owner.id, room_id=room.hash, content=f"m{n}")
                for n in range(50)
            )
        )
    finally:
        event.remove(engine, "commit", listener)
    ids = [message_id for message_id, _ in stored]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert len(commits) <= 2  # the first message may go alone, the other 49 share one
    async with db.get_session() as session:
        rows = (
            await session.execute(select(ChatMessage.id, ChatMessage.content).where(ChatMessage.id.in_(ids)))
        ).all()
    assert sorted(rows) == [(message_id, f"m{n}") for n, message_id in enumerate(ids)]


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
