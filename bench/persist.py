"""Persisted-throughput benchmark (issue 11, target 3): stored chat messages/s, 100 rooms x 10.

    hatch run bench:persist                       # SQLite (WAL) and PostgreSQL
    hatch run bench:persist --quick --backends sqlite

Our server (one process on core 0, memory broker) with 100 rooms of 10 members each; every
member holds one chat-message socket to its room and sends, open loop, in turn with the
others, stepping the total rate of chat messages. Each message is stored, then delivered to
the room's 10 sockets. At 10,000 messages/s each socket sends 10 per second, its
per-connection limit (never ahead of schedule, so the bucket never runs dry while the server
keeps up; a rate-limit error frame would count under "errs"). Per step: messages stored
(rows counted in the database afterwards), stored per second, delivery p50/p99 (send to
receipt at every member), deliveries lost. PostgreSQL gets a fresh database, dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import PG_ADMIN_DSN, database
from driver import Generator
from seed import seed_rooms, subprotocols
from servers import GENERATOR_CORE, ROOT, our_env, pin_self, raise_fd_limit, start_ours
from sqlalchemy import func, select

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage

DEFAULT_RATES = (250, 500, 750, 1_000, 2_500, 5_000, 10_000)
RESULTS = ROOT / "bench" / "results"


async def stored(uri: str, step: int) -> int:
    """Count the rows the server stored for ``step`` (their content starts with its marker)."""
    db.connect(uri)
    try:
        async with db.get_session() as session:
            query = (
                select(func.count()).select_from(ChatMessage).where(ChatMessage.content.like(f"~B{step},%"))
            )
            return int(await session.scalar(query) or 0)
    finally:
        await db.dispose()


async def seed(uri: str, rooms: int, members: int) -> list[dict[str, object]]:
    seeded = await seed_rooms(uri, [members] * rooms)
    return [
        {
            "path": f"/chat/api/v1/room/{room.room_hash}/chat-message",
            "protocols": subprotocols(token),
            "sender": True,
        }
        for room in seeded
        for token in room.tokens
    ]


def run_backend(backend: str, args: argparse.Namespace, out: object) -> list[dict[str, object]]:
    rows = []

    async def body(uri: str) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="pykc-bench-persist-"))
        env = our_env(workdir, db_uri=uri)
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]
        specs = await seed(uri, args.rooms, args.members)
        server = await asyncio.to_thread(start_ours, workdir, env, path="")
        generator = None
        try:
            generator = await asyncio.to_thread(
                Generator, "127.0.0.1", server.port, specs, deflate=False, workers=1
            )
            if generator.connected != len(specs):
                raise RuntimeError(
                    f"{generator.connected} of {len(specs)} connected: {generator.connect_errors()}"
                )
            for number, rate in enumerate(args.rates, start=1):
                await asyncio.sleep(args.pause)
                result = await asyncio.to_thread(
                    generator.run_step,
                    server="ours",
                    server_pid=server.pid,
                    deflate=False,
                    step=number,
                    messages_per_s=rate,
                    duration=args.duration,
                    drain=args.drain,
                    target_rate=rate,
                    fanout=args.members,
                )
                count = await stored(uri, number)
                row = {
                    "backend": backend,
                    **json.loads(result.as_json()),
                    "stored": count,
                    "stored_per_s": count / args.duration,
                }
                rows.append(row)
                out.write(json.dumps(row) + "\n")  # type: ignore[attr-defined]
                ok = "ok" if result.ok() and count == result.sent else "OVER"
                print(
                    f"{backend:10} {rate:>8,.0f} {result.sent:>8,} {count:>8,} "
                    f"{count / args.duration:>9,.0f} {result.p50_ms or 0:>8.1f} {result.p99_ms or 0:>9.1f} "
                    f"{result.lost:>7,} {result.errors:>5} "
                    f"{result.server_cpu:>5.0%} {result.load:>5.1f}  {ok}",
                    flush=True,
                )
                if result.lost or result.closed or (result.p99_ms or 0) > 1000:
                    break
        finally:
            if generator is not None:
                await asyncio.to_thread(generator.close)
            await asyncio.to_thread(server.stop)

    async def main() -> None:
        async with database(backend, args.pg_dsn) as uri:
            await body(uri)

    asyncio.run(main())
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=list(DEFAULT_RATES),
        help="stored chat messages per second, comma-separated",
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--pause", type=float, default=0.5)
    parser.add_argument("--quick", action="store_true", help="2 s steps")
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "postgresql"])
    parser.add_argument("--pg-dsn", default=PG_ADMIN_DSN)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.drain, args.pause = 2.0, 2.0, 0.3
    if args.rooms * args.members > 10_000:
        parser.error("at most 10,000 sockets")
    raise_fd_limit()
    pin_self(GENERATOR_CORE)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS / f"persist-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
    print(
        f"Persisted chat messages: {args.rooms} rooms x {args.members} members, one socket each, "
        f"{args.duration:g} s steps"
    )
    print(
        f"{'backend':10} {'msg/s':>8} {'sent':>8} {'stored':>8} {'stored/s':>9} {'p50 ms':>8} {'p99 ms':>9} "
        f"{'lost':>7} {'errs':>5} {'srv':>5} {'load':>5}"
    )
    started = time.monotonic()
    with out_path.open("w") as out:
        for backend in args.backends:
            run_backend(backend, args, out)
    print(f"results: {out_path} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
