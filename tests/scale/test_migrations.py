"""Alembic migrations: an upgrade of an empty database gives exactly the models' schema."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from pykcworkshop.chat.confusables import name_skeleton
from pykcworkshop.chat.db.models import Base

ROOT = Path(__file__).resolve().parents[2]
#: The newest revision: every upgrade ends there.
HEAD = "0005"


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False  # keep pytest's logging
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def inspect_database(url: str) -> tuple[set[str], list[object], str | None]:
    """Return the tables, the differences from the models, and the stamped revision."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            differences = await conn.run_sync(schema_differences)
            version = None
            if "alembic_version" in tables:
                version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    return tables, differences, version


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'migrated.sqlite3'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("pg_url")
    return url


def test_one_linear_history_starting_at_0001() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD]
    assert [revision.revision for revision in scripts.walk_revisions()][-1] == "0001"


async def test_upgrade_gives_exactly_the_models_schema(empty_db: str) -> None:
    config = alembic_config(empty_db)
    # Alembic's env.py runs its own event loop, so it runs in a thread here.
    await asyncio.to_thread(command.upgrade, config, "head")
    tables, differences, version = await inspect_database(empty_db)
    assert tables == {*Base.metadata.tables, "alembic_version"}
    assert differences == []
    assert version == HEAD
    # `alembic check` agrees: nothing left to autogenerate.
    await asyncio.to_thread(command.check, config)

    await asyncio.to_thread(command.downgrade, config, "base")
    tables, _, version = await inspect_database(empty_db)
    assert tables == {"alembic_version"} and version is None
    await asyncio.to_thread(command.upgrade, config, "head")
    assert (await inspect_database(empty_db))[1] == []


async def test_upgrade_on_a_connection_handed_over_by_the_caller(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    config = alembic_config()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:

            def upgrade(sync_connection: Connection) -> None:
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "head")

            await conn.run_sync(upgrade)
    finally:
        await engine.dispose()
    _, differences, version = await inspect_database(url)
    assert differences == [] and version == HEAD


def test_offline_sql_for_postgresql() -> None:
    output = io.StringIO()
    config = Config(str(ROOT / "alembic.ini"), output_buffer=output)
    config.attributes["configure_logger"] = False
    config.set_main_option("sqlalchemy.url", "postgresql+asyncpg://db.example/chat")
    command.upgrade(config, "head", sql=True)
    sql = output.getvalue()
    assert "CREATE TABLE users" in sql and "TIMESTAMP WITH TIME ZONE" in sql
    assert "CREATE INDEX ix_chat_messages_room_timestamp_id ON chat_messages (room_id, timestamp, id)" in sql


def test_command_line_upgrade_uses_db_uri(pg_url: str, tmp_path: Path) -> None:
    # What `hatch run db:upgrade` runs, from another working directory, DB_URI from the env.
    env = {**os.environ, "DB_URI": pg_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001" in result.stderr
    assert f"-> {HEAD}" in result.stderr
    _, differences, version = asyncio.run(inspect_database(pg_url))
    assert differences == [] and version == HEAD


#: A database as 0001 left it, with data: two users, a room owned by the first with the
#: second as a member, and a message.
DATA_0001 = [
    "INSERT INTO users (id, name, name_key, login_key_hash) VALUES (1, 'Ada', 'ada', ''), (2, 'Bob', 'bob', '')",
    "INSERT INTO rooms (id, name, name_key, owner_id) VALUES ('r1', 'Room', 'room', 1)",
    "INSERT INTO room_members (room_id, user_id) VALUES ('r1', 1), ('r1', 2)",
    "INSERT INTO chat_messages (id, author_id, room_id, content, timestamp)"
    " VALUES (1, 2, 'r1', 'hello', '2024-05-01 12:00:00+00:00')",
]


async def test_upgrade_from_0001_keeps_the_data_and_gives_owners_their_role(empty_db: str) -> None:
    config = alembic_config(empty_db)
    await asyncio.to_thread(command.upgrade, config, "0001")
    engine = create_async_engine(empty_db)
    try:
        async with engine.begin() as conn:
            for statement in DATA_0001:
                await conn.execute(text(statement))
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            roles = (await conn.execute(text("SELECT user_id, role, muted_until FROM room_members"))).all()
            messages = (
                await conn.execute(text("SELECT content, deleted_at, deleted_by FROM chat_messages"))
            ).all()
            bans = await conn.scalar(text("SELECT count(*) FROM room_bans"))
    finally:
        await engine.dispose()
    assert sorted(roles) == [(1, "owner", None), (2, "member", None)]
    assert messages == [("hello", None, None)] and bans == 0
    assert (await inspect_database(empty_db))[1:] == ([], HEAD)
    # And back: 0001's schema again, with the data.
    await asyncio.to_thread(command.downgrade, config, "0001")
    tables, _, version = await inspect_database(empty_db)
    assert "room_bans" not in tables and version == "0001"


async def test_0003_backfills_name_skeletons_also_when_existing_names_look_alike(empty_db: str) -> None:
    """A 0001 database with look-alike names upgrades; every row gets its skeleton."""
    config = alembic_config(empty_db)
    await asyncio.to_thread(command.upgrade, config, "0001")
    names = ["alice", "\u0430lice", "ALICE\u0301", "Bob"]  # the second: a Cyrillic a
    engine = create_async_engine(empty_db)
    try:
        async with engine.begin() as conn:
            for n, name in enumerate(names, start=1):
                await conn.execute(
                    text(
                        "INSERT INTO users (id, name, name_key, login_key_hash) VALUES (:id, :name, :key, '')"
                    ),
                    {"id": n, "name": name, "key": name.casefold()},
                )
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT name, name_skeleton FROM users ORDER BY id"))).all()
    finally:
        await engine.dispose()
    assert [(name, key) for name, key in rows] == [(name, name_skeleton(name)) for name in names]
    assert rows[0][1] == rows[1][1] == "alice"
    assert (await inspect_database(empty_db))[1] == []


async def test_upgrade_to_read_positions_marks_existing_rooms_read(empty_db: str) -> None:
    config = alembic_config(empty_db)
    await asyncio.to_thread(command.upgrade, config, "0001")
    engine = create_async_engine(empty_db)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO users (id, name, name_key, login_key_hash) VALUES (1, 'a', 'a', '')")
            )
            for room in ("r1", "r2"):
                await conn.execute(
                    text("INSERT INTO rooms (id, name, name_key, owner_id) VALUES (:r, :r, :r, 1)"),
                    {"r": room},
                )
                await conn.execute(
                    text("INSERT INTO room_members (room_id, user_id) VALUES (:r, 1)"), {"r": room}
                )
            for message_id in (5, 9):
                await conn.execute(
                    text(
                        "INSERT INTO chat_messages (id, author_id, room_id, content, timestamp)"
                        " VALUES (:id, 1, 'r1', 'x', CURRENT_TIMESTAMP)"
                    ),
                    {"id": message_id},
                )
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT room_id, last_read_id FROM room_members"))).all()
    finally:
        await engine.dispose()
    assert sorted(tuple(row) for row in rows) == [("r1", 9), ("r2", 0)]


#: A database as 0004 left it: as :data:`DATA_0001`, with name skeletons, roles, a read
#: position and a mention.
DATA_0004 = [
    "INSERT INTO users (id, name, name_key, name_skeleton, login_key_hash)"
    " VALUES (1, 'Ada', 'ada', 'ada', ''), (2, 'Bob', 'bob', 'bob', '')",
    "INSERT INTO rooms (id, name, name_key, owner_id) VALUES ('r1', 'Room', 'room', 1)",
    "INSERT INTO room_members (room_id, user_id, role, last_read_id) VALUES ('r1', 1, 'owner', 1), ('r1', 2, 'member', 0)",
    "INSERT INTO chat_messages (id, author_id, room_id, content, timestamp)"
    " VALUES (1, 2, 'r1', 'hello @Ada', '2024-05-01 12:00:00+00:00')",
    "INSERT INTO message_mentions (message_id, user_id, room_id) VALUES (1, 1, 'r1')",
]


async def test_upgrade_from_0004_keeps_messages_unedited(empty_db: str) -> None:
    """A 0004 database with messages, mentions and read positions upgrades to edits and back."""
    config = alembic_config(empty_db)
    await asyncio.to_thread(command.upgrade, config, "0004")
    engine = create_async_engine(empty_db)
    try:
        async with engine.begin() as conn:
            for statement in DATA_0004:
                await conn.execute(text(statement))
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            messages = (await conn.execute(text("SELECT id, content, edited_at FROM chat_messages"))).all()
            mentions = (await conn.execute(text("SELECT message_id, user_id FROM message_mentions"))).all()
            reads = (await conn.execute(text("SELECT user_id, last_read_id FROM room_members"))).all()
        assert [tuple(row) for row in messages] == [(1, "hello @Ada", None)]
        assert [tuple(row) for row in mentions] == [(1, 1)]
        assert sorted(tuple(row) for row in reads) == [(1, 1), (2, 0)]
        assert (await inspect_database(empty_db))[1:] == ([], HEAD)
        # Edit the message (SQLite stores naive UTC text, PostgreSQL a timestamptz).
        edited = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)
        at = edited if "postgresql" in empty_db else "2024-05-01 12:05:00"
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE chat_messages SET content = 'hello!', edited_at = :at WHERE id = 1"), {"at": at}
            )
        # And back: 0004's schema again, with the (edited) text kept.
        await asyncio.to_thread(command.downgrade, config, "0004")
        async with engine.connect() as conn:
            assert (await conn.scalar(text("SELECT content FROM chat_messages"))) == "hello!"
            columns = await conn.run_sync(
                lambda sync: {column["name"] for column in inspect(sync).get_columns("chat_messages")}
            )
        assert "edited_at" not in columns
    finally:
        await engine.dispose()
    assert (await inspect_database(empty_db))[2] == "0004"
