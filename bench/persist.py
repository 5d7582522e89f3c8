"""Persisted-throughput benchmark (issue 11, target 3): stored chat messages/s, 100 rooms x 10.

    hatch run bench:persist                       # the peers, then ours on SQLite (WAL) and PostgreSQL
    hatch run bench:persist --quick --backends sqlite --peers ''

Our server (one process on core 0, memory broker) with 100 rooms of 10 members each; every
member holds one chat-message socket to its room and sends, open loop, in turn with the
others, stepping the total rate of chat messages. Each message is stored, then delivered to
the room's 10 sockets. At 10,000 messages/s each socket sends 10 per second, its
per-connection limit (never ahead of schedule, so the bucket never runs dry while the server
keeps up; a rate-limit error frame would count under "errs"). Per step: messages stored
(rows counted in the database afterwards), stored per second, delivery p50/p99 (send to
receipt at every member), deliveries lost. PostgreSQL gets a fresh database, dropped after.

The raw websockets and bare ASGI peers (bench/peers/) run first in the same layout, a URL
path per room: they read each message and write it to the room's members, with no
authentication, storage or limits. Their knee is what the sockets alone allow on one core,
the ceiling for ours. Steps stop at 10,000 messages/s, where each socket is at its limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import PG_ADMIN_DSN, database
from driver import Generator
from fanout import fmt
from seed import seed_rooms, subprotocols
from servers import (
    GENERATOR_CORE,
    ROOT,
    ServerProcess,
    our_env,
    pin_self,
    raise_fd_limit,
    start_ours,
    start_peer,
)
from sqlalchemy import func, select

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage

DEFAULT_RATES = (250, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000)
#: Peers (bench/peers/) run in the same layout first: how far the socket work alone goes.
PEERS = ("raw_websockets", "bare_asgi")
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
    """Run every step against ours on ``backend`` (a fresh database); return the rows."""

    async def body(uri: str) -> list[dict[str, object]]:
        workdir = Path(tempfile.mkdtemp(prefix="pykc-bench-persist-"))
        env = our_env(workdir, db_uri=uri)
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]
        specs = await seed(uri, args.rooms, args.members)
        server = await asyncio.to_thread(start_ours, workdir, env, path="")
        return await run_steps(backend, server, specs, args, out, lambda step: stored(uri, step))

    async def main() -> list[dict[str, object]]:
        async with database(backend, args.pg_dsn) as uri:
            return await body(uri)

    return asyncio.run(main())


def run_peer(name: str, args: argparse.Namespace, out: object) -> list[dict[str, object]]:
    """Run every step against peer ``name``: the same rooms, a path each, nothing stored.

    The ceiling of the socket work alone on one core (each message read once and written
    to its room's members), for ours to be read against.
    """
    specs = [
        {"path": f"/ws/{room}", "protocols": [], "sender": True}
        for room in range(args.rooms)
        for _member in range(args.members)
    ]

    async def main() -> list[dict[str, object]]:
        server = await asyncio.to_thread(start_peer, name)
        return await run_steps(name, server, specs, args, out, None)

    return asyncio.run(main())


async def run_steps(
    name: str,
    server: ServerProcess,
    specs: list[dict[str, object]],
    args: argparse.Namespace,
    out: object,
    count_stored: Callable[[int], Awaitable[int]] | None,
) -> list[dict[str, object]]:
    """Connect ``specs`` to ``server``, step the rates, print and write a row per step.

    With ``count_stored`` (ours), a step is only "ok" if every message it sent was
    stored; peers store nothing.
    """
    rows: list[dict[str, object]] = []
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
                server=name,
                server_pid=server.pid,
                deflate=False,
                step=number,
                messages_per_s=rate,
                duration=args.duration,
                drain=args.drain,
                target_rate=rate,
                fanout=args.members,
            )
            count = None if count_stored is None else await count_stored(number)
            row = {
                "backend": name,
                **json.loads(result.as_json()),
                "stored": count,
                "stored_per_s": None if count is None else count / args.duration,
            }
            rows.append(row)
            out.write(json.dumps(row) + "\n")  # type: ignore[attr-defined]
            ok = "ok" if result.ok() and count in (None, result.sent) else "OVER"
            print(
                f"{name:14} {rate:>8,.0f} {result.sent:>8,} {fmt(count):>8} "
                f"{fmt(None if count is None else count / args.duration):>9} "
                f"{result.p50_ms or 0:>8.1f} {result.p99_ms or 0:>9.1f} "
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
    return rows


def knee(rows: list[dict[str, object]]) -> float:
    """The highest rate with p99 < 100 ms, nothing lost and (ours) everything stored."""
    best = 0.0
    for row in rows:
        stored_all = row["stored"] is None or row["stored"] == row["sent"]
        if row["lost"] == 0 and row["errors"] == 0 and (row["p99_ms"] or 0) < 100 and stored_all:
            best = max(best, float(row["target_rate"]))  # type: ignore[arg-type]
    return best


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
    parser.add_argument(
        "--backends",
        type=lambda s: [x for x in s.split(",") if x],
        default=["sqlite", "postgresql"],
        help="databases to run ours on ('' for none)",
    )
    parser.add_argument(
        "--peers",
        type=lambda s: [x for x in s.split(",") if x],
        default=list(PEERS),
        help="peers to run beside ours, same rooms, nothing stored ('' for none)",
    )
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
        f"{'server':14} {'msg/s':>8} {'sent':>8} {'stored':>8} {'stored/s':>9} {'p50 ms':>8} {'p99 ms':>9} "
        f"{'lost':>7} {'errs':>5} {'srv':>5} {'load':>5}"
    )
    started = time.monotonic()
    knees: dict[str, float] = {}
    with out_path.open("w") as out:
        for peer in args.peers:
            knees[peer] = knee(run_peer(peer, args, out))
        for backend in args.backends:
            knees[f"ours ({backend})"] = knee(run_backend(backend, args, out))
    print("\nknee (p99 < 100 ms, nothing lost, all stored), chat messages/s:")
    for name, value in knees.items():
        print(f"  {name:20} {value:>8,.0f}")
    print(f"results: {out_path} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
