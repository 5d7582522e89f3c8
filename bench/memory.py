"""Idle-connection memory benchmark (issue 11, target 5): RSS per socket, health at 10,000.

    hatch run bench:memory                        # ours and the bare ASGI peer, 2,000 then 10,000
    hatch run bench:memory --counts 1000,5000 --servers ours

Opens idle chat-message sockets to the server (ours: members of one room, a user holding
24 sockets as four tabs would) in stages and reads the serving process's RSS
(/proc/<pid>/status VmRSS) after each, once it has settled. Per socket is the RSS growth
from the baseline (after a few warm-up connections) divided by the sockets open; a browser
tab opens six sockets, so per tab is six times that. At the last stage, health: every
socket is pinged (pong round trip percentiles and misses), then one message is sent and
the time until every socket has it is measured.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import Generator, percentile_from_hist
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

#: Under the per-user cap (MAX_SOCKETS_PER_USER, 30): four tabs of six sockets.
SOCKETS_PER_USER = 24
SOCKETS_PER_TAB = 6
RESULTS = ROOT / "bench" / "results"


def settled_rss(server: ServerProcess, quiet: float = 1.0, timeout: float = 15.0) -> int:
    """Return the server's RSS (KiB) once it stops changing for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = server.rss_kib(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = server.rss_kib()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def start(name: str, total: int) -> tuple[ServerProcess, list[dict[str, Any]]]:
    if name != "ours":
        server = start_peer(name)
        return server, [{"path": server.path, "protocols": [], "sender": i == 0} for i in range(total)]
    workdir = Path(tempfile.mkdtemp(prefix="pykc-bench-memory-"))
    env = our_env(workdir)
    os.environ["SECRET_KEY"] = env["SECRET_KEY"]
    users = max(1, -(-total // SOCKETS_PER_USER))
    [room] = asyncio.run(seed_rooms(env["DB_URI"], [users]))
    path = f"/chat/api/v1/room/{room.room_hash}/chat-message"
    server = start_ours(workdir, env, path=path)
    specs = [
        {"path": path, "protocols": subprotocols(room.tokens[i % users]), "sender": i == 0}
        for i in range(total)
    ]
    return server, specs


def run(name: str, counts: list[int], workers: int) -> dict[str, Any]:
    """Open ``counts`` sockets in stages; return RSS figures and the health check."""
    server, specs = start(name, max(counts) + 10)
    generators: list[Generator] = []
    stages = []
    try:
        warm = Generator("127.0.0.1", server.port, specs[:10], deflate=False, workers=1)
        generators.append(warm)
        warm.ping()
        baseline = settled_rss(server)
        print(f"\n{name}: baseline RSS {baseline / 1024:.1f} MiB (after 10 warm-up sockets)")
        print(f"{'sockets':>8} {'RSS MiB':>9} {'KiB/socket':>11} {'KiB/tab':>9} {'connect s':>10}")
        opened = 0
        for count in counts:
            began = time.monotonic()
            stage = Generator(
                "127.0.0.1", server.port, specs[10 + opened : 10 + count], deflate=False, workers=workers
            )
            generators.append(stage)
            took = time.monotonic() - began
            if stage.connected != count - opened:
                raise RuntimeError(
                    f"only {stage.connected} of {count - opened} connected: {stage.connect_errors()}"
                )
            opened = count
            rss = settled_rss(server)
            per_socket = (rss - baseline) / count
            stages.append({"sockets": count, "rss_kib": rss, "kib_per_socket": per_socket, "connect_s": took})
            print(
                f"{count:>8,} {rss / 1024:>9.1f} {per_socket:>11.1f} "
                f"{per_socket * SOCKETS_PER_TAB:>9.1f} {took:>10.1f}"
            )
        pings = [p for generator in generators for p in generator.ping()]
        missing = sum(int(p["missing"]) for p in pings)
        worst_p99 = max((p["p99_ms"] or 0) for p in pings)
        worst = max((p["max_ms"] or 0) for p in pings)
        print(
            f"pings: {sum(int(p['pinged']) for p in pings):,} sockets, {missing} unanswered, "
            f"worst per-worker p99 {worst_p99:.1f} ms, max {worst:.1f} ms"
        )
        # One message from the warm-up generator's sender, to every socket.
        total = opened + 10
        delivery = broadcast_once(generators)
        print(
            f"one message to all {total:,} sockets: {delivery['received']:,} received, "
            f"p50 {delivery['p50_ms']} ms, last after {delivery['max_ms']} ms"
        )
        return {
            "server": name,
            "baseline_kib": baseline,
            "stages": stages,
            "ping_missing": missing,
            "ping_p99_ms": worst_p99,
            "ping_max_ms": worst,
            "delivery": delivery,
        }
    finally:
        for generator in generators:
            generator.close()
        server.stop()


def broadcast_once(generators: list[Generator]) -> dict[str, Any]:
    """Send one message through the first generator's sender; time its arrival everywhere."""
    number = 99
    t0 = time.perf_counter() + 0.3
    for generator in generators:
        # Every generator counts step 99; only the first one has a sender and sends.
        count = 1 if generator is generators[0] else 0
        generator.ask_all(
            {
                "cmd": "step",
                "step": number,
                "t0": t0,
                "interval": 1.0,
                "count": count,
                "stride": 1,
                "offset": 0,
            }
        )
    expected = sum(g.connected for g in generators)
    deadline = t0 + 10.0
    while time.perf_counter() < deadline:
        received = sum(c["received"] for g in generators for c in g.ask_all({"cmd": "count", "step": number}))
        if received >= expected:
            break
        time.sleep(0.05)
    hist: dict[int, int] = {}
    for generator in generators:
        for report in generator.ask_all({"cmd": "report", "step": number}):
            for bucket, n in report["hist"].items():
                hist[int(bucket)] = hist.get(int(bucket), 0) + n
    return {
        "expected": expected,
        "received": sum(hist.values()),
        "p50_ms": percentile_from_hist(hist, 0.5),
        "max_ms": percentile_from_hist(hist, 1.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], default=[2000, 10000])
    parser.add_argument("--servers", type=lambda s: s.split(","), default=["ours", "bare_asgi"])
    parser.add_argument("--workers", type=int, default=2, help="generator processes per stage")
    args = parser.parse_args(argv)
    if max(args.counts) > 15_000 or sorted(args.counts) != args.counts:
        parser.error("--counts must be increasing and at most 15,000")
    raise_fd_limit()
    pin_self(GENERATOR_CORE)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"memory-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
    with out.open("w") as file:
        for name in args.servers:
            file.write(json.dumps(run(name, args.counts, args.workers)) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
