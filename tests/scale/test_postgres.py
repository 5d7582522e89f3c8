"""The data layer behaves the same on PostgreSQL as on SQLite.

Each test runs on both engines: a temporary SQLite file and a fresh PostgreSQL database
(created for the test, dropped after). Schema, case-insensitive uniqueness, aware
timestamps, history paging and the history index must agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat import db
from pykcworkshop.chat.constants import MAX_CONTENT_LENGTH, SYSTEM_USER_NAME
from pykcworkshop.chat.db.models import Base, ChatMessage, User
from pykcworkshop.chat.messages import stored_message_json
from tests.support import databases
from tests.support.databases import data_layer_on, kept_data_layer

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each engine."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    with databases.fresh_database(admin) as url:
        yield url


@pytest.fixture
async def data_layer(db_url: str) -> AsyncIterator[str]:
    """Point the data layer at the database, with tables; restore the previous engine."""
    async with data_layer_on(db_url):
        yield db.get_engine().dialect.name


async def make_user(session: AsyncSession, name: str) -> User:
    user, _ = await db.create_user(session, user_name=name)
    return user


async def test_initialize_creates_every_table_and_the_system_user(data_layer: str) -> None:
    async with db.get_engine().connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables == set(Base.metadata.tables)
    # Safe to call on every start.
    await db.initialize()
    async with db.get_session() as session:
        system = await db.get_user_by_name(session, SYSTEM_USER_NAME)
        count = len((await session.scalars(select(User).where(User.name == SYSTEM_USER_NAME))).all())
    assert system.login_key_hash == "" and count == 1


async def test_workers_starting_at_once_on_an_empty_database(pg_url: str) -> None:
    # PostgreSQL only: several workers are what it is for (SQLite serves one process).
    with kept_data_layer():
        db.connect(pg_url)
        try:
            # What `hypercorn --workers N` does on first start: N initialize() at once.
            await asyncio.gather(*(db.initialize() for _ in range(4)))
            async with db.get_session() as session:
                systems = (await session.scalars(select(User).where(User.name == SYSTEM_USER_NAME))).all()
            assert len(systems) == 1
        finally:
            await db.dispose()


@pytest.mark.parametrize(
    ("first", "second"),
    [("Alice", "alice"), ("Alice", "  ALICE "), ("Straße", "STRASSE"), ("ΣΑΣ", "σας"), ("Ǆemal", "ǆemal")],
)
async def test_user_names_are_taken_case_insensitively(data_layer: str, first: str, second: str) -> None:
    async with db.get_session() as session:
        await make_user(session, first)
        await session.commit()
        assert await db.user_name_taken(session, second)
        with pytest.raises(db.NameTaken):
            await make_user(session, second)
        found = await db.get_user_by_name(session, second)
    assert found.name == first


async def test_concurrent_sign_ups_of_one_name_yield_one_user(data_layer: str) -> None:
    # Both pass the "taken?" check; the unique key decides at the database.
    async def sign_up(name: str) -> str:
        async with db.get_session() as session:
            try:
                await make_user(session, name)
                await session.commit()
                return "created"
            except db.NameTaken:
                await session.rollback()
                return "taken"

    results = await asyncio.gather(*(sign_up(name) for name in ("Racer", "racer", "RACER", "rAcEr")))
    assert sorted(results) == ["created", "taken", "taken", "taken"]


async def test_room_names_are_unique_per_owner_case_insensitively(data_layer: str) -> None:
    async with db.get_session() as session:
        owner_id = (await make_user(session, "Owner")).id
        other_id = (await make_user(session, "Other")).id
        await db.create_room(session, room_name="Lobby", creator_id=owner_id)
        await session.commit()
        assert await db.room_name_owned(session, owner_id=owner_id, room_name="LOBBY")
        with pytest.raises(db.NameTaken):
            await db.create_room(session, room_name=" lobby ", creator_id=owner_id)
        await session.rollback()
        room = await db.create_room(session, room_name="lobby", creator_id=other_id)
        await session.commit()
    assert room.owner_id == other_id


async def test_timestamps_are_aware_utc_with_microseconds(data_layer: str) -> None:
    plus_five = timezone(timedelta(hours=5))
    async with db.get_session() as session:
        user = await make_user(session, "Clock")
        room = await db.create_room(session, room_name="Time", creator_id=user.id)
        stored = await db.create_chat_message(
            session, author_id=user.id, room_id=room.id, content="x", timestamp=T0.astimezone(plus_five)
        )
        await session.commit()
        message_id = stored.id
    async with db.get_session() as session:
        loaded = await session.get(ChatMessage, message_id)
        assert loaded is not None
        assert loaded.timestamp == T0 and loaded.timestamp.utcoffset() == timedelta(0)
        assert loaded.timestamp.microsecond == 123456
        assert stored_message_json(loaded)["timestamp"] == "2024-05-01T12:00:00.123456+00:00"
        token = (await db.get_user_by_id(session, user.id)).token
        assert token.expires_at.tzinfo is not None
        with pytest.raises(Exception, match="timezone-aware"):
            await db.create_chat_message(
                session, author_id=user.id, room_id=room.id, content="naive", timestamp=datetime(2024, 1, 1)
            )
            await session.flush()


async def test_long_non_ascii_content_fits(data_layer: str) -> None:
    content = "🙂" * MAX_CONTENT_LENGTH
    async with db.get_session() as session:
        user = await make_user(session, "Smiley")
        room = await db.create_room(session, room_name="Smiles", creator_id=user.id)
        await db.create_chat_message(session, author_id=user.id, room_id=room.id, content=content)
        await session.commit()
        history = await db.get_history(session, room_id=room.id, before=datetime.now(UTC), chunk_size=1)
    assert history[0].content == content


async def test_history_pages_agree_on_both_engines(data_layer: str) -> None:
    async with db.get_session() as session:
        user = await make_user(session, "Writer")
        room = await db.create_room(session, room_name="History", creator_id=user.id)
        other = await db.create_room(session, room_name="Elsewhere", creator_id=user.id)
        # Pairs of messages share a timestamp, to exercise the (timestamp, id) keyset.
        for n in range(10):
            await db.create_chat_message(
                session,
                author_id=user.id,
                room_id=room.id,
                content=f"m{n}",
                timestamp=T0 + timedelta(seconds=n // 2),
            )
        await db.create_chat_message(
            session, author_id=user.id, room_id=other.id, content="other", timestamp=T0
        )
        await session.commit()

        newest = await db.get_history(session, room_id=room.id, before=T0 + timedelta(days=1), chunk_size=3)
        assert [m.content for m in newest] == ["m9", "m8", "m7"]
        # Strictly older than the boundary timestamp: m4 and m5 share T0+2s.
        older = await db.get_history(
            session, room_id=room.id, before=T0 + timedelta(seconds=2), chunk_size=10
        )
        assert [m.content for m in older] == ["m3", "m2", "m1", "m0"]
        newer = await db.get_history(session, room_id=room.id, before=T0, chunk_size=3, newer=True)
        assert [m.content for m in newer] == ["m2", "m3", "m4"]

        # Paging by cursor visits each message once, even across shared timestamps.
        seen: list[str] = []
        page = newest
        while page:
            seen += [m.content for m in page]
            last = page[-1]
            page = await db.get_history(
                session, room_id=room.id, before=last.timestamp, chunk_size=3, cursor_id=last.id
            )
    assert seen == [f"m{n}" for n in range(9, -1, -1)]


async def test_history_query_can_use_its_index(data_layer: str) -> None:
    async with db.get_engine().connect() as conn:
        indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("chat_messages"))
        by_name = {index["name"]: index["column_names"] for index in indexes}
        assert by_name["ix_chat_messages_room_timestamp_id"] == ["room_id", "timestamp", "id"]
        if data_layer == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))
            query = (
                "EXPLAIN SELECT id FROM chat_messages WHERE room_id = 'r' AND timestamp < now() "
                "ORDER BY timestamp DESC, id DESC LIMIT 20"
            )
        else:
            query = (
                "EXPLAIN QUERY PLAN SELECT id FROM chat_messages WHERE room_id = 'r' AND timestamp < '2100-01-01' "
                "ORDER BY timestamp DESC, id DESC LIMIT 20"
            )
        plan = "\n".join(str(row) for row in (await conn.execute(text(query))).all())
    assert "ix_chat_messages_room_timestamp_id" in plan, plan


async def test_timestamp_column_is_timestamptz_on_postgresql(pg_data_layer: str) -> None:
    async with db.get_engine().connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE column_name IN ('timestamp', 'expires_at')"
            )
        )
        types = {(table, column): kind for table, column, kind in rows.all()}
    assert types == {
        ("chat_messages", "timestamp"): "timestamp with time zone",
        ("user_tokens", "expires_at"): "timestamp with time zone",
    }


async def test_a_read_only_session_reads_without_a_transaction_on_postgresql(data_layer: str) -> None:
    """History pages read through ``get_session(read_only=True)``: on PostgreSQL no BEGIN or
    ROLLBACK round trips (each statement is its own transaction); on SQLite a plain session."""
    async with db.get_session() as session:
        author = await make_user(session, "reader")
        room = await db.create_room(session, room_name="reads", creator_id=author.id)
        await db.create_chat_message(
            session, author_id=author.id, room_id=room.id, content="hi", timestamp=T0
        )
        await session.commit()
    async with db.get_session(read_only=True) as session:
        page = await db.get_history(session, room_id=room.id, before=T0 + timedelta(seconds=1), chunk_size=5)
        assert [message.content for message in page] == ["hi"]
        if data_layer == "postgresql":
            first = await session.scalar(text("SELECT txid_current()"))
            second = await session.scalar(text("SELECT txid_current()"))
            assert first != second  # two transactions: none was begun around them
    if data_layer == "postgresql":
        async with db.get_session() as session:
            first = await session.scalar(text("SELECT txid_current()"))
            assert await session.scalar(text("SELECT txid_current()")) == first
