"""Chat-history benchmark (issue 11, target 4): a 100-message page from a 1,000,000-message room.

    hatch run bench:history                       # SQLite and PostgreSQL, 1,000,000 messages
    hatch run bench:history --messages 100000 --backends sqlite

Per backend: a fresh database (SQLite file; PostgreSQL database ``pykc_bench_<random>`` on
127.0.0.1, dropped afterwards), a room with 10 members seeded through the data layer, then
``--messages`` messages inserted in bulk (executemany on SQLite, COPY on PostgreSQL) and
ANALYZEd (PostgreSQL: VACUUMed too, as a long-lived table would be). Then, server-side,
the time of ``db.get_history()`` (a fresh session each, as the chat-history socket does)
for pages of 100 from random positions: older than a timestamp (the default request),
newer than one, and older than a message id (the ``before_id`` cursor). The exact SQL of
each shape is captured and its plan printed with EXPLAIN (QUERY PLAN on SQLite; ANALYZE,
BUFFERS on PostgreSQL). Finally the same requests over the chat-history websocket of our
running server (round trip seen by the client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import PG_ADMIN_DSN, database
from seed import seed_rooms, subprotocols
from servers import ROOT, our_env, start_ours
from sqlalchemy import event, func, select, text

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage

PAGE = 100
RESULTS = ROOT / "bench" / "results"
#: Messages are one second apart, ending a day ago.
SPACING = timedelta(seconds=1)


def percentiles(samples: list[float]) -> dict[str, float]:
    """Return p50/p99/max of ``samples`` (seconds) in milliseconds."""
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 3)

    return {"n": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 3)}


def first_timestamp(count: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=1) - count * SPACING


async def bulk_insert(room_hash: str, authors: list[int], count: int, backend: str) -> float:
    """Insert ``count`` messages into the room as fast as the backend allows; return seconds."""
    start = first_timestamp(count)
    started = time.perf_counter()
    columns = ("author_id", "room_id", "content", "timestamp")
    chunk = 50_000
    async with db.get_engine().begin() as conn:
        if backend == "postgresql":
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for low in range(0, count, chunk):
                records = [
                    (
                        authors[i % len(authors)],
                        room_hash,
                        f"message {i}: a line of ordinary chat text",
                        start + i * SPACING,
                    )
                    for i in range(low, min(count, low + chunk))
                ]
                await raw.copy_records_to_table("chat_messages", records=records, columns=columns)
        else:
            # The column type's own bind processor (UTCDateTime, then SQLite's DATETIME), so
            # the stored text is exactly what the ORM would have written.
            column_type = ChatMessage.__table__.c.timestamp.type
            dialect = conn.dialect
            bind = column_type.dialect_impl(dialect).bind_processor(dialect)
            assert bind is not None
            sql = "INSERT INTO chat_messages (author_id, room_id, content, timestamp) VALUES (?, ?, ?, ?)"
            for low in range(0, count, chunk):
                rows = []
                for i in range(low, min(count, low + chunk)):
                    rows.append(
                        (
                            authors[i % len(authors)],
                            room_hash,
                            f"message {i}: a line of ordinary chat text",
                            bind(start + i * SPACING),
                        )
                    )
                await conn.exec_driver_sql(sql, rows)
        await conn.execute(text("ANALYZE"))
    if backend == "postgresql":
        # A room that grew to 1,000,000 messages has been vacuumed many times. Fresh COPY
        # rows are not: the first read of each heap page sets its hint bits (dirtying it),
        # and autovacuum starts on the new table within a minute, in the middle of the
        # timing. VACUUM (outside a transaction) does both now. The load also left
        # hundreds of megabytes of WAL: CHECKPOINT writes it out before the timing rather
        # than during it (the benchmark connects as a superuser, as PG_ADMIN_DSN does).
        async with db.get_engine().connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM (ANALYZE) chat_messages"))
            await autocommit.execute(text("CHECKPOINT"))
    return time.perf_counter() - started


class Capture:
    """Record the statements the engine sends (to EXPLAIN exactly what get_history runs)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        self.statements.append((statement, parameters))


async def explain(kwargs: dict[str, Any], backend: str) -> str:
    """Run get_history once, capturing its SQL, and return the EXPLAIN of its page query."""
    capture = Capture()
    engine = db.get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with db.get_session() as session:
            await db.get_history(session, **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in reversed(capture.statements) if "LIMIT" in s.upper())
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgresql" else "EXPLAIN QUERY PLAN "
    async with db.get_engine().connect() as conn:
        rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
    if backend == "postgresql":
        plan = "\n".join(str(row[0]) for row in rows)
    else:
        plan = "\n".join(
            " ".join(str(part) for part in row[1:]) if len(row) > 2 else str(row) for row in rows
        )
    return f"-- {statement.strip()}\n-- parameters: {parameters}\n{plan}"


async def time_pages(room_hash: str, count: int, requests: int, first_id: int) -> dict[str, dict[str, float]]:
    """Time get_history from random positions in each request shape."""
    start = first_timestamp(count)
    rng = random.Random(11)
    shapes = {
        "older than a timestamp": lambda i: {"before": start + i * SPACING + SPACING / 2, "newer": False},
        "newer than a timestamp": lambda i: {"before": start + i * SPACING + SPACING / 2, "newer": True},
        "older than a message id": lambda i: {"before": start + count * SPACING, "cursor_id": first_id + i},
    }
    figures = {}
    for name, shape in shapes.items():
        samples = []
        for _ in range(requests):
            position = rng.randrange(PAGE, count - PAGE)
            kwargs = {"room_id": room_hash, "chunk_size": PAGE, **shape(position)}
            began = time.perf_counter()
            async with db.get_session(read_only=True) as session:
                page = await db.get_history(session, **kwargs)
            samples.append(time.perf_counter() - began)
            assert len(page) == PAGE, f"{name}: page of {len(page)}"
        figures[name] = percentiles(samples)
    return figures


async def over_websocket(
    port: int, room_hash: str, token: str, count: int, requests: int
) -> dict[str, float]:
    """Time chat-history requests over the websocket: 20 sockets, one request in flight."""
    from websockets.asyncio.client import connect

    start = first_timestamp(count)
    rng = random.Random(12)
    url = f"ws://127.0.0.1:{port}/chat/api/v1/room/{room_hash}/chat-history"
    sockets = [await connect(url, subprotocols=subprotocols(token), max_size=2**22) for _ in range(20)]  # type: ignore[arg-type]
    samples = []
    try:
        for index in range(requests):
            # Round robin keeps each socket well inside its 10/s burst of 20 requests.
            socket = sockets[index % len(sockets)]
            position = rng.randrange(PAGE, count - PAGE)
            millis = (start + position * SPACING).timestamp() * 1000 + 500
            began = time.perf_counter()
            await socket.send(json.dumps({"timestamp": millis, "chunk_size": PAGE}))
            page = json.loads(await socket.recv())
            samples.append(time.perf_counter() - began)
            assert isinstance(page, list) and len(page) == PAGE, page
    finally:
        for socket in sockets:
            await socket.close()
    return percentiles(samples)


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    async with database(backend, args.pg_dsn) as uri:
        env = our_env(Path(tempfile.gettempdir()), db_uri=uri)  # (the folder matters only without db_uri)
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]
        [room] = await seed_rooms(uri, [10])
        db.connect(uri)
        try:
            seconds = await bulk_insert(room.room_hash, room.user_ids, args.messages, backend)
            async with db.get_session() as session:
                total = await session.scalar(
                    select(func.count()).select_from(ChatMessage).where(ChatMessage.room_id == room.room_hash)
                )
                # The first bulk message (the members' join messages came before it).
                first_id = await session.scalar(
                    select(func.min(ChatMessage.id)).where(
                        ChatMessage.room_id == room.room_hash, ChatMessage.content.like("message %")
                    )
                )
            print(
                f"\n== {backend}: {total:,} messages in the room "
                f"(bulk insert {seconds:.1f} s, {args.messages / seconds:,.0f} rows/s)"
            )
            middle = first_timestamp(args.messages) + args.messages // 2 * SPACING
            plans = {
                "older than a timestamp": {"before": middle, "newer": False},
                "newer than a timestamp": {"before": middle, "newer": True},
                "older than a message id": {
                    "before": middle,
                    "cursor_id": int(first_id) + args.messages // 2,
                },
            }
            for name, kwargs in plans.items():
                print(f"\nEXPLAIN, {name}:")
                print(await explain({"room_id": room.room_hash, "chunk_size": PAGE, **kwargs}, backend))
            direct = await time_pages(room.room_hash, args.messages, args.requests, int(first_id))
        finally:
            await db.dispose()
        workdir = Path(tempfile.mkdtemp(prefix="pykc-bench-history-"))
        server = start_ours(workdir, env, path="")  # stop() removes workdir
        try:
            socket = await over_websocket(
                server.port, room.room_hash, room.tokens[0], args.messages, args.ws_requests
            )
        finally:
            server.stop()
    print(f"\n{backend}: 100-message pages from random positions in {args.messages:,} messages")
    print(f"{'request':34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, figures in {
        **{f"db.get_history, {k}": v for k, v in direct.items()},
        "websocket round trip, older": socket,
    }.items():
        print(
            f"{name:34.34} {figures['n']:>6} {figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} "
            f"{figures['max_ms']:>8.2f}"
        )
    return {
        "backend": backend,
        "messages": args.messages,
        "bulk_insert_s": seconds,
        "direct": direct,
        "websocket": socket,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--requests", type=int, default=1000, help="timed get_history calls per request shape"
    )
    parser.add_argument("--ws-requests", type=int, default=400)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "postgresql"])
    parser.add_argument(
        "--pg-dsn", default=PG_ADMIN_DSN, help="admin DSN used to create and drop the database"
    )
    args = parser.parse_args(argv)
    if not 1000 <= args.messages <= 5_000_000:
        parser.error("--messages must be from 1,000 to 5,000,000")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"history-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
    with out.open("w") as file:
        for backend in args.backends:
            file.write(json.dumps(asyncio.run(run_backend(backend, args))) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
