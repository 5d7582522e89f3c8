"""Unread-count figure: ``GET /user/rooms/unread``'s query on a 1,000,000-message room.

Not a test. Seeds a fresh database (SQLite file in a temporary directory, or PostgreSQL
with ``--pg URL``, a database it creates and drops) with one room of ``--messages``
messages (bulk inserts), a reader who is a member of it and of ``--rooms`` small rooms, and
``--mentions`` mentions of the reader spread over the big room; 50 authors write the big
room's messages and 50 other rooms hold a thousand messages each. (With one author and one
room, PostgreSQL's planner estimated the unread scan at one row and walked the primary key
instead of the ``(room_id, id)`` index: seconds per query. Real data does not look like
that.) Then it times
``db.unread_counts`` (one query for all joined rooms) with the reader's position at
several places: far behind (counts capped at 100), 50 messages behind, and up to date.
Prints p50, p99 and max over ``--runs`` calls each, then the query's plan (PostgreSQL:
``EXPLAIN (ANALYZE, BUFFERS)``; SQLite: ``EXPLAIN QUERY PLAN``).

    python bench/unread.py                                  # SQLite, 1,000,000 messages
    python bench/unread.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Tokens of the seeded users are signed; any key does for a throw-away database.
os.environ.setdefault("SECRET_KEY", "bench-unread")

from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect  # noqa: E402
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from pykcworkshop.chat import db  # noqa: E402
from pykcworkshop.chat.db.models import ChatMessage, MessageMention, room_members  # noqa: E402
from pykcworkshop.utils import now  # noqa: E402

BATCH = 20_000
AUTHORS = 50


async def seed(messages: int, rooms: int, mentions: int) -> tuple[int, str]:
    """Create the reader, the big room (and the small ones); return (reader id, big room)."""
    async with db.get_session() as session:
        author, _ = await db.create_user(session, user_name="author")
        reader, _ = await db.create_user(session, user_name="reader")
        big = await db.create_room(session, room_name="big", creator_id=author.id)
        for index in range(rooms):
            small = await db.create_room(session, room_name=f"small{index}", creator_id=author.id)
            await db.add_user_to_room(session, user_id=reader.id, room_id=small.id)
        await db.add_user_to_room(session, user_id=reader.id, room_id=big.id)
        await session.commit()
        reader_id, big_id, author_id = reader.id, big.id, author.id
        # More authors and rooms than one of each: with a single distinct value per column,
        # PostgreSQL's estimates would be those of no real database (see the module docstring).
        authors = [author_id]
        for index in range(AUTHORS - 1):
            extra, _ = await db.create_user(session, user_name=f"author{index}")
            authors.append(extra.id)
        others = [
            (await db.create_room(session, room_name=f"other{i}", creator_id=author_id)).id for i in range(30)
        ]
        await session.commit()
    stamp = now()
    rows = [
        {"author_id": authors[i % AUTHORS], "room_id": big_id, "content": "hello @reader", "timestamp": stamp}
        for i in range(BATCH)
    ]
    for start in range(0, messages, BATCH):
        async with db.get_session() as session:
            await session.execute(insert(ChatMessage), rows[: min(BATCH, messages - start)])
            await session.commit()
    async with db.get_session() as session:
        # A thousand messages in each other room (the reader's small rooms among them).
        async with db.get_session() as session:
            small_rooms = [room.id for room in await db.rooms_of_user(session, reader_id, owned=False)]
        for room_id in {*others, *small_rooms} - {big_id}:
            batch = [{**row, "room_id": room_id} for row in rows[:1000]]
            await session.execute(insert(ChatMessage), batch)
        await session.commit()
    async with db.get_session() as session:
        ids = (await session.scalars(select(ChatMessage.id).where(ChatMessage.room_id == big_id))).all()
        step = max(1, len(ids) // max(1, mentions))
        marks = [{"message_id": i, "user_id": reader_id, "room_id": big_id} for i in ids[::step]]
        for start in range(0, len(marks), BATCH):
            await session.execute(insert(MessageMention), marks[start : start + BATCH])
        await session.commit()
    return reader_id, big_id


async def position(reader: int, room: str, last_read_id: int) -> None:
    async with db.get_session() as session:
        await session.execute(
            update(room_members)
            .where(room_members.c.user_id == reader, room_members.c.room_id == room)
            .values(last_read_id=last_read_id)
        )
        await session.commit()


async def timings(reader: int, runs: int) -> tuple[list[float], list[db.UnreadRow]]:
    times = []
    rows: list[db.UnreadRow] = []
    async with db.get_session() as session:
        for _ in range(runs):
            started = time.perf_counter()
            rows = await db.unread_counts(session, reader)
            times.append((time.perf_counter() - started) * 1000)
    return times, rows


def report(label: str, times: list[float], rows: list[db.UnreadRow], room: str) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    big = next(row for row in rows if row.room_id == room)
    print(
        f"  {label:<22} unread={big.unread:>3} mentions={big.mentions:>3}  "
        f"p50={statistics.median(times):.2f} ms  p99={p99:.2f} ms  max={ordered[-1]:.2f} ms"
    )


async def run(url: str, args: argparse.Namespace) -> None:
    db.connect(url)
    await db.initialize(drop_tables=True)
    started = time.perf_counter()
    reader, room = await seed(args.messages, args.rooms, args.mentions)
    print(f"{url.split(':')[0]}: seeded {args.messages:,} messages in {time.perf_counter() - started:.0f} s")
    async with db.get_session() as session:
        latest = await session.scalar(select(func.max(ChatMessage.id)).where(ChatMessage.room_id == room))
    assert latest is not None
    if url.startswith("postgresql"):
        async with db.get_engine().begin() as conn:
            await conn.execute(text("ANALYZE"))
    for label, last_read in (
        ("nothing read", 0),
        ("half read", latest // 2),
        ("50 behind", latest - 50),
        ("up to date", latest),
    ):
        await position(reader, room, last_read)
        await timings(reader, 20)  # warm up
        report(label, *await timings(reader, args.runs), room)
    await explain(reader, postgresql=url.startswith("postgresql"))
    await db.dispose()


async def explain(reader: int, *, postgresql: bool) -> None:
    """Print the plan of the counts query (the reader up to date): EXPLAIN ANALYZE on PostgreSQL."""
    dialect = postgresql_dialect() if postgresql else sqlite_dialect()
    async with db.get_session() as session:
        statements = []
        execute = session.execute

        async def capture(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            statements.append(statement)
            return await execute(statement, *args, **kwargs)

        session.execute = capture  # type: ignore[method-assign]
        await db.unread_counts(session, reader)
        session.execute = execute  # type: ignore[method-assign]
        sql = str(statements[-1].compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
        rows = (await session.execute(text(prefix + sql))).all()
    print("  plan:")
    for row in rows:
        print("    " + str(row[0] if postgresql else row[-1]))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rooms", type=int, default=20, help="small rooms the reader also joined")
    parser.add_argument("--mentions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a database is created)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database (to EXPLAIN)")
    args = parser.parse_args()
    if not args.pg:
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite+aiosqlite:///{tmp}/unread.sqlite3", args)
        return
    name = f"bench_unread_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(args.pg, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        await run(args.pg.rsplit("/", 1)[0] + f"/{name}", args)
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE "{name}"'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
