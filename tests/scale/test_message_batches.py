"""Each database's batch writer (:mod:`pykcworkshop.chat.db.message_batches`) keeps the same promises.

Every test runs on a temporary SQLite file (the writer thread with its own connection), on
a fresh PostgreSQL database (one statement on asyncpg) and on an in-memory SQLite database
(the ORM session, which a second connection could not share).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.pool import StaticPool

from pykcworkshop.chat import db, groupcommit
from pykcworkshop.chat.db import engine as engines
from pykcworkshop.chat.db import message_batches
from pykcworkshop.chat.db.message_batches import BatchBusy, BatchRefused, NewMessage, store_messages
from pykcworkshop.chat.db.models import ChatMessage, MessageMention
from pykcworkshop.utils import now
from tests.support import databases
from tests.support.databases import data_layer_on


@pytest.fixture(params=["sqlite", "postgresql", "sqlite-memory"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}"
    elif request.param == "sqlite-memory":
        yield "sqlite+aiosqlite://"
    else:
        with databases.fresh_database(request.getfixturevalue("pg_admin_url")) as url:
            yield url


@pytest.fixture
async def room(db_url: str) -> AsyncIterator[tuple[str, int, int]]:
    """A room on the database, with its owner and one member: (room id, owner id, member id)."""
    if db_url == "sqlite+aiosqlite://":
        # One in-memory database for the whole engine: a single shared connection.
        async with data_layer_on(db_url):
            engines._engine = engines.create_async_engine(
                db_url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
            event.listen(engines._engine.sync_engine, "connect", engines.set_sqlite_pragmas)
            engines._sessionmaker = engines._read_sessionmaker = engines.async_sessionmaker(
                engines._engine, expire_on_commit=False
            )
            await db.initialize()
            yield await _seed()
        return
    async with data_layer_on(db_url):
        yield await _seed()


async def _seed() -> tuple[str, int, int]:
    async with db.get_session() as session:
        owner, _ = await db.create_user(session, user_name="owner")
        member, _ = await db.create_user(session, user_name="member")
        chat = await db.create_room(session, room_name="batches", creator_id=owner.id)
        await db.add_user_to_room(session, user_id=member.id, room_id=chat.id)
        await session.commit()
        return chat.id, owner.id, member.id


async def stored_rows() -> list[tuple[int, int, str, object]]:
    async with db.get_session() as session:
        query = select(ChatMessage.id, ChatMessage.author_id, ChatMessage.content, ChatMessage.timestamp)
        return [tuple(row) for row in (await session.execute(query.order_by(ChatMessage.id))).all()]


async def test_a_batch_is_stored_in_its_order_with_exact_timestamps(room: tuple[str, int, int]) -> None:
    room_id, owner, member = room
    batch = [NewMessage(owner if n % 2 else member, room_id, f"m{n}", now()) for n in range(30)]
    ids = await store_messages(batch, moment=now())
    assert all(isinstance(message_id, int) for message_id in ids) and ids == sorted(ids)
    rows = {row[0]: row for row in await stored_rows()}
    assert [rows[i][1:] for i in ids] == [(m.author_id, m.content, m.timestamp) for m in batch]  # type: ignore[index]


async def test_a_muted_author_is_answered_with_the_mutes_end_and_mentions_pair_with_their_message(
    room: tuple[str, int, int],
) -> None:
    room_id, owner, member = room
    until = now() + timedelta(minutes=5)
    async with db.get_session() as session:
        await db.moderation.set_mute(session, room_id=room_id, user_id=member, until=until)
        await session.commit()
    batch = [
        NewMessage(owner, room_id, "first", now(), frozenset({member})),
        NewMessage(member, room_id, "hushed", now(), frozenset({owner})),
        NewMessage(owner, room_id, "plain", now()),
        NewMessage(owner, room_id, "last", now(), frozenset({member})),
    ]
    first, hushed, plain, last = await store_messages(batch, moment=now())
    assert hushed == until
    assert [row[2] for row in await stored_rows()][-3:] == ["first", "plain", "last"]
    async with db.get_session() as session:
        mentions = set(
            (await session.execute(select(MessageMention.message_id, MessageMention.user_id))).all()
        )
    assert mentions == {(first, member), (last, member)} and isinstance(plain, int)


async def test_a_mute_that_has_ended_no_longer_holds(room: tuple[str, int, int]) -> None:
    room_id, _owner, member = room
    async with db.get_session() as session:
        await db.moderation.set_mute(
            session, room_id=room_id, user_id=member, until=now() + timedelta(seconds=1)
        )
        await session.commit()
    [outcome] = await store_messages(
        [NewMessage(member, room_id, "later", now())], moment=now() + timedelta(seconds=2)
    )
    assert isinstance(outcome, int)


async def test_a_refused_message_takes_its_whole_batch_with_it(room: tuple[str, int, int]) -> None:
    # One transaction: the good message must not be stored when the batch fails.
    room_id, owner, _member = room
    batch = [NewMessage(owner, room_id, "good", now()), NewMessage(owner, "no-such-room", "orphan", now())]
    before = await stored_rows()
    with pytest.raises(BatchRefused):
        await store_messages(batch, moment=now())
    assert await stored_rows() == before


async def test_a_locked_sqlite_file_is_reported_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process's write lock is SQLite's alone (PostgreSQL locks rows).
    file = tmp_path / "locked.sqlite3"
    async with data_layer_on(f"sqlite+aiosqlite:///{file}"):
        await _locked_then_free(file, await _seed(), monkeypatch)


async def _locked_then_free(file: Path, room: tuple[str, int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    room_id, owner, _member = room
    await message_batches.close_writers()  # the next writer connects with the short timeout
    monkeypatch.setattr(engines, "SQLITE_BUSY_TIMEOUT_MS", 50)
    blocker = sqlite3.connect(file, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BatchBusy):
            await store_messages([NewMessage(owner, room_id, "blocked", now())], moment=now())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    [outcome] = await store_messages([NewMessage(owner, room_id, "free", now())], moment=now())
    assert isinstance(outcome, int)


async def test_dispose_closes_the_writers_own_connection(room: tuple[str, int, int], db_url: str) -> None:
    room_id, owner, _member = room
    await store_messages([NewMessage(owner, room_id, "hello", now())], moment=now())
    await db.dispose()
    assert not message_batches._writers
    await asyncio.sleep(0)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("pykc-sqlite-writer")]


async def test_a_dropped_postgresql_connection_is_replaced_and_nothing_is_lost(pg_data_layer: str) -> None:
    room_id, owner, _member = await _seed()
    await groupcommit.store(author_id=owner, room_id=room_id, content="first")
    writer = message_batches._writers[db.get_engine()]
    pid = writer._connection.get_server_pid()
    async with db.get_session() as session:  # what a PostgreSQL restart does to the connection
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    # Either the writer notices before the batch or the batch fails busy and is tried again.
    await groupcommit.store(author_id=owner, room_id=room_id, content="again")
    assert writer._connection.get_server_pid() != pid
    assert [row[2] for row in await stored_rows()][-2:] == ["first", "again"]
