"""Fan-out figure: one room's chat-message socket with many listeners and one sender.

Not a test. Starts a real hypercorn process (``tests.live_server.LiveServer``, memory
broker, temporary SQLite database), connects ``--clients`` websockets to one room's
chat-message socket, and has one of them send ``--messages`` chat messages. The sender
stays within its per-connection rate limit (bursts of ``CHAT_RATE``'s burst, then the
refill rate), so every message is stored and broadcast. Prints the deliveries per second
(all clients together, from the first send to the last delivery), the most deliveries
within any one second (what the server sustains while busy), and the delivery latency
(send to receipt, per message and client).

    python bench/fanout.py                        # 1000 clients, 100 messages
    python bench/fanout.py --clients 200 --messages 40 --compression

Bounded: at most ``MAX_CLIENTS`` clients and ``MAX_MESSAGES`` messages, and the whole run
stops after ``--timeout`` seconds. Clients and server share this machine's CPUs, so the
figures are for comparing changes, not a capacity guarantee.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pykcworkshop.chat import db  # noqa: E402
from pykcworkshop.chat.constants import CHAT_RATE  # noqa: E402
from tests.clients import Seeder, ws_connect  # noqa: E402
from tests.live_server import LiveServer, server_env  # noqa: E402

MAX_CLIENTS = 5000
MAX_MESSAGES = 1000
#: Handshakes in flight at once while connecting the clients.
CONNECT_CONCURRENCY = 50


@dataclass
class Run:
    """What one run measured."""

    clients: int
    sent_at: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    delivered_at: list[float] = field(default_factory=list)
    closed: int = 0

    def record(self, seq: int, now: float) -> None:
        self.delivered_at.append(now)
        self.latencies.append(now - self.sent_at[seq])

    def peak_per_second(self) -> int:
        """Return the most deliveries within any one-second window."""
        times, best, start = sorted(self.delivered_at), 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] > 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


async def listen(ws: Any, run: Run, done: asyncio.Event, expected: int) -> None:
    """Record every bench message this client receives."""
    try:
        async for frame in ws:
            now = time.perf_counter()
            content = json.loads(frame).get("content", "")
            if content.startswith("bench "):
                run.record(int(content.split()[1]), now)
                if len(run.delivered_at) >= expected:
                    done.set()
    except Exception:
        run.closed += 1


async def send_all(sender: Any, run: Run, messages: int) -> None:
    """Send in bursts the rate limit allows: a full burst, then wait for it to refill."""
    rate, burst = CHAT_RATE
    seq = 0
    while seq < messages:
        size = min(burst, messages - seq)
        for _ in range(size):
            run.sent_at[seq] = time.perf_counter()
            await sender.send(json.dumps({"content": f"bench {seq}"}))
            seq += 1
        if seq < messages:
            await asyncio.sleep(size / rate)


async def bench(clients: int, messages: int, compression: bool, timeout: float) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix="pykc-fanout-"))
    env = server_env(workdir, LOG_LEVEL="WARNING")
    server = LiveServer(workdir, env).start()
    os.environ["SECRET_KEY"] = env["SECRET_KEY"]
    db.connect(env["DB_URI"])
    run = Run(clients)
    sockets: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        async with asyncio.timeout(timeout):
            seed = Seeder()
            owner = await seed.user()
            room = await seed.room(owner)
            path = f"/room/{room}/chat-message"
            options = {} if compression else {"compression": None}
            gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

            async def open_one() -> Any:
                async with gate:
                    return await ws_connect(server.ws_url, path, owner, **options).__aenter__()

            started = time.perf_counter()
            sockets = list(await asyncio.gather(*(open_one() for _ in range(clients))))
            print(f"connected {clients} clients in {time.perf_counter() - started:.1f} s")
            done = asyncio.Event()
            tasks = [asyncio.create_task(listen(ws, run, done, clients * messages)) for ws in sockets]
            await send_all(sockets[0], run, messages)
            await done.wait()
    except TimeoutError:
        print(f"stopped after the {timeout:.0f} s limit", file=sys.stderr)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await db.dispose()
        server.stop()
    return run


def report(run: Run, messages: int) -> None:
    delivered = len(run.delivered_at)
    print(f"delivered {delivered} of {run.clients * messages} ({run.clients} clients x {messages} messages)")
    if not delivered:
        return
    elapsed = max(run.delivered_at) - min(run.sent_at.values())
    print(
        f"overall: {delivered / elapsed:,.0f} deliveries/s over {elapsed:.2f} s (the sender is rate-limited)"
    )
    print(f"busiest second: {run.peak_per_second():,} deliveries")
    p50, p99 = percentile(run.latencies, 0.50) * 1000, percentile(run.latencies, 0.99) * 1000
    print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(run.latencies) * 1000:.1f} ms")
    if run.closed:
        print(f"{run.closed} clients were disconnected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="listening websockets (default 1000)")
    parser.add_argument("--messages", type=int, default=100, help="messages the sender sends (default 100)")
    parser.add_argument(
        "--compression", action="store_true", help="negotiate permessage-deflate, as browsers do"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="stop the run after this many seconds")
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    messages = max(1, min(args.messages, MAX_MESSAGES))
    run = asyncio.run(bench(clients, messages, args.compression, args.timeout))
    report(run, messages)


if __name__ == "__main__":
    main()
