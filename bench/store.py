"""The data layer alone (issue 11, target 3): chat messages stored per second by group commit.

    hatch run bench:store                          # SQLite (WAL) and PostgreSQL
    hatch run bench:store --backends sqlite --duration 10

No server and no sockets: this process calls ``groupcommit.store`` the way the chat-message
socket does, from 1,000 writers (100 rooms x 10 members) that each wait for their message's
answer before sending the next (a connection's order). It shows what the database path costs
per message with the network left out, and so what ``bench:persist`` can reach at best.
Output per backend: stored messages per second, p50/p99 time to store, and the CPU time
this process spent per stored message.
(Profile it with ``py-spy record -- python bench/store.py``: cProfile's module name is
shadowed here by bench/profile.py.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import PG_ADMIN_DSN, database
from seed import seed_rooms
from servers import GENERATOR_CORE, pin_self

from pykcworkshop.chat import db, groupcommit


async def run(uri: str, args: argparse.Namespace) -> dict[str, float]:
    """Seed the rooms, then let every member store messages for ``args.duration`` seconds."""
    rooms = await seed_rooms(uri, [args.members] * args.rooms)
    db.connect(uri)
    latencies: list[float] = []
    deadline = 0.0

    async def writer(room_id: str, author_id: int) -> None:
        number = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await groupcommit.store(author_id=author_id, room_id=room_id, content=f"bench {number}")
            latencies.append(time.perf_counter() - started)
            number += 1

    try:
        # Warm the pool and the statement caches first.
        await groupcommit.store(author_id=rooms[0].user_ids[0], room_id=rooms[0].room_hash, content="warm")
        deadline = time.perf_counter() + args.duration
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(writer(room.room_hash, user) for room in rooms for user in room.user_ids))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await db.dispose()
    latencies.sort()
    count = len(latencies)
    return {
        "stored": count,
        "per_s": count / wall,
        "p50_ms": latencies[count // 2] * 1000,
        "p99_ms": latencies[int(count * 0.99)] * 1000,
        "cpu_us_per_msg": cpu / count * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "postgresql"])
    parser.add_argument("--pg-dsn", default=PG_ADMIN_DSN)
    args = parser.parse_args(argv)
    pin_self(GENERATOR_CORE)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(16))  # seeding signs session tokens
    print(f"groupcommit.store: {args.rooms} rooms x {args.members} writers, {args.duration:g} s")
    print(f"{'backend':10} {'stored':>8} {'stored/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/msg':>10}")
    for backend in args.backends:

        async def one(backend: str = backend) -> dict[str, float]:
            async with database(backend, args.pg_dsn) as uri:
                return await run(uri, args)

        row = asyncio.run(one())
        print(
            f"{backend:10} {row['stored']:>8,.0f} {row['per_s']:>9,.0f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['cpu_us_per_msg']:>10.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
