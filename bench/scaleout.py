"""Scale-out figure: messages delivered per second, 1 process (memory://) vs 2 + Redis.

Not a test. Starts real hypercorn processes (``tests.support.live_server``), puts ``--clients``
members in one room (spread evenly over the processes), and has every member send
client-sync frames at ``--rate`` per second (under the per-connection limit) for
``--seconds``; every frame goes to every member. Prints, per setup, the frames delivered
per second and the delivery latency. Bounded: each setup runs for ``--seconds`` plus at
most ``DRAIN_TIMEOUT`` seconds.

    python bench/scaleout.py                       # needs Redis at 127.0.0.1:6379
    python bench/scaleout.py --clients 40 --rate 15 --seconds 5 --redis-url redis://host:6379/0

Both setups share one SQLite file by default (the database is only used for logins and
handshakes here); ``--db-uri postgresql+asyncpg://...`` uses that database instead.
Clients and servers share this machine's CPUs, so the figures compare setups, they do
not measure capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import API  # noqa: E402
from tests.support.live_server import LiveServer, server_env  # noqa: E402
from tests.support.websockets import ws_connect  # noqa: E402

DRAIN_TIMEOUT = 10.0
_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class Result:
    setup: str
    published: int = 0
    delivered: int = 0
    closed: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def report(self, clients: int) -> str:
        expected = self.published * clients
        rate = self.delivered / self.elapsed if self.elapsed else 0.0
        lat = sorted(self.latencies) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"{self.setup:<28} published {self.published:>6}  delivered {self.delivered:>7}/{expected:<7} "
            f"{rate:>9.0f} msg/s  latency p50 {statistics.median(lat) * 1000:6.1f} ms "
            f"p99 {p99 * 1000:6.1f} ms  sockets closed {self.closed}"
        )


async def call(
    client: httpx.AsyncClient, csrf: str, method: str, path: str, body: Any = None, token: str = ""
) -> Any:
    headers = {"X-CSRF-TOKEN": csrf}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.request(method, f"{API}{path}", json=body, headers=headers)
    response.raise_for_status()
    return response.json()


async def run_setup(
    name: str, servers: list[LiveServer], clients: int, rate: float, seconds: float
) -> Result:
    csrfs = []
    for server in servers:
        async with httpx.AsyncClient(timeout=10) as client:
            page = await client.get(f"{server.http_url}/chat/")
        match = _CSRF_META.search(page.text)
        assert match is not None
        csrfs.append(match.group(1))

    async with httpx.AsyncClient(base_url=servers[0].http_url, timeout=30) as http:
        tokens = []
        for _ in range(clients):
            created = await call(
                http, csrfs[0], "POST", "/user/create", {"user_name": f"b-{secrets.token_hex(5)}"}
            )
            login = await call(http, csrfs[0], "POST", "/user/login", {"user_hash": created["user_hash"]})
            tokens.append(login["user_token"])
        room = (await call(http, csrfs[0], "POST", "/room/create", {"room_name": "bench"}, tokens[0]))[
            "room_hash"
        ]
        for token in tokens[1:]:
            await call(http, csrfs[0], "PUT", f"/room/{room}/join", token=token)

    result = Result(name)
    sockets = []
    for i, token in enumerate(tokens):
        n = i % len(servers)
        offered = ["chat.v1", f"csrf{csrfs[n]}", f"Bearer{token}"]
        ws = await ws_connect(
            servers[n].ws_url, f"/room/{room}/client-sync", subprotocols=offered, max_queue=None
        )
        # Own echo back: this socket's process has subscribed the room.
        await ws.send("ready")
        while await asyncio.wait_for(ws.recv(), 10) != "ready":
            pass
        sockets.append(ws)
    for ws in sockets:  # drop the ready frames of later sockets
        while True:
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                break

    sending_done = asyncio.Event()
    last_receipt = [0.0]

    async def send(ws: Any, i: int) -> None:
        interval = 1.0 / rate
        start = time.perf_counter()
        seq = 0
        while time.perf_counter() - start < seconds:
            try:
                await ws.send(f"{i}:{seq}:{time.perf_counter()!r}")
            except websockets.ConnectionClosed:
                return  # dropped as too slow; counted by its receiver
            result.published += 1
            seq += 1
            await asyncio.sleep(max(0.0, start + seq * interval - time.perf_counter()))

    async def receive(ws: Any) -> None:
        try:
            while True:
                frame = await asyncio.wait_for(
                    ws.recv(), DRAIN_TIMEOUT if sending_done.is_set() else seconds + DRAIN_TIMEOUT
                )
                now = time.perf_counter()
                result.delivered += 1
                result.latencies.append(now - float(frame.rsplit(":", 1)[1]))
                last_receipt[0] = now
                if sending_done.is_set() and result.delivered >= result.published * clients:
                    return
        except TimeoutError:
            return
        except Exception:
            result.closed += 1

    started = time.perf_counter()
    receivers = [asyncio.create_task(receive(ws)) for ws in sockets]
    await asyncio.gather(*(send(ws, i) for i, ws in enumerate(sockets)))
    sending_done.set()
    _, pending = await asyncio.wait(receivers, timeout=DRAIN_TIMEOUT)
    for task in pending:
        task.cancel()
    result.elapsed = (last_receipt[0] or time.perf_counter()) - started
    for ws in sockets:
        await ws.close()
    return result


def start(workdir: Path, env: dict[str, str], count: int) -> list[LiveServer]:
    servers = []
    for n in range(count):  # one after the other: the first creates the tables
        path = workdir / f"node{n}"
        path.mkdir()
        servers.append(LiveServer(path, dict(env)).start())
    return servers


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=30, help="members in the room (default 30)")
    parser.add_argument("--rate", type=float, default=10.0, help="frames per second per member (max 20)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long members send (default 5)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--db-uri", default="", help="database for both setups (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    results = []
    for name, count, broker in (
        ("1 process, memory://", 1, "memory://"),
        ("2 processes, redis://", 2, args.redis_url),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            env = server_env(workdir, BROKER_URL=broker, LOG_LEVEL="WARNING", ACCOUNT_RATE_LIMITS="off")
            if args.db_uri:
                env["DB_URI"] = args.db_uri
            servers = start(workdir, env, count)
            try:
                results.append(await run_setup(name, servers, args.clients, args.rate, args.seconds))
            finally:
                for server in servers:
                    server.stop()
    print(f"{args.clients} members in one room, each sending {args.rate:g} client-sync frames/s", end="")
    print(f" for {args.seconds:g} s; every frame goes to every member")
    for result in results:
        print(result.report(args.clients))


if __name__ == "__main__":
    asyncio.run(main())
