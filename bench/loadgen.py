"""Load-generator worker: holds a share of the clients, sends on schedule, counts receipts.

Started by the benchmarks (pinned to the generator's core), never by hand:

    python bench/loadgen.py CONFIG.json

``CONFIG.json``: ``{"host", "port", "deflate", "clients": [{"path", "protocols", "sender"}]}``.
The worker connects its clients, prints ``{"ready": n, "failed": n, "error": str}`` and then
answers JSON-line commands on stdin, one JSON line on stdout each:

- ``{"cmd": "step", "step": k, "t0": t, "interval": s, "count": m, "stride": w, "offset": o}``
  — send messages ``o, o+w, o+2w, … < m`` of step ``k``, message ``i`` at
  ``t0 + i * interval`` (``time.perf_counter()``, CLOCK_MONOTONIC, the same clock in
  every process), open loop: a late send goes out at once, still stamped with its
  scheduled time, so latency includes any queueing in the generator. Replies ``{}``.
  With ``"repeat": r`` each frame asks the server to send it r times (only the raw
  websockets peer does: the generator check).
- ``{"cmd": "count", "step": k}`` — how many of step ``k``'s frames arrived so far.
- ``{"cmd": "report", "step": k}`` — stop counting step ``k`` (later frames are lost) and
  reply its latency histogram (100 µs buckets), counts, errors and CPU time used.
- ``{"cmd": "ping"}`` — ping every client, reply the pong round-trip times' percentiles.
- ``{"cmd": "quit"}`` — close every client and exit.

The frame content carries ``~B<step>,<seq>,<scheduled µs>~``; any frame with it counts
as a delivery, whatever the server wrapped around it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wsclient import OP_PING, Client, connect

#: Histogram buckets: 100 µs wide, up to 20 s (the last bucket holds everything later).
BUCKETS_PER_SECOND = 10_000
BUCKETS = 20 * BUCKETS_PER_SECOND
CONNECT_CONCURRENCY = 64
#: Words after the marker, so frames have the size of a short chat line.
FILLER = "and a few more words, as a short chat line would have"


@dataclass
class Step:
    """What arrived for one step so far."""

    received: int = 0
    sent: int = 0
    open_clients: int = 0
    frozen: bool = False
    hist: list[int] = field(default_factory=lambda: [0] * BUCKETS)


class Worker:
    """This process's clients and their counters."""

    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.senders: list[Client] = []
        self.steps: dict[int, Step] = {}
        self.errors = 0
        self.late = 0
        self.other = 0
        self.cpu_mark = (time.process_time(), time.perf_counter())
        self.sending: list[asyncio.Task[None]] = []

    def on_text(self, payload: bytes, now: float) -> None:
        """Count one received message (the hot path: no allocation beyond the parse)."""
        start = payload.find(b"~B")
        if start < 0:
            if b'"error"' in payload:
                self.errors += 1
            else:
                self.other += 1
            return
        end = payload.find(b"~", start + 2)
        step_text, _seq, scheduled = payload[start + 2 : end].split(b",")
        step = self.steps.get(int(step_text))
        if step is None or step.frozen:
            self.late += 1
            return
        step.received += 1
        bucket = int((now - int(scheduled) * 1e-6) * BUCKETS_PER_SECOND)
        step.hist[bucket if 0 <= bucket < BUCKETS else (0 if bucket < 0 else BUCKETS - 1)] += 1

    def open_count(self) -> int:
        return sum(1 for client in self.clients if not client.closed.done())

    async def send_step(
        self, number: int, t0: float, interval: float, count: int, stride: int, offset: int, repeat: int = 1
    ) -> None:
        """Send this worker's share of a step's messages, each at its scheduled time."""
        step = self.steps[number]
        senders = self.senders
        if not senders:
            return
        for turn, seq in enumerate(range(offset, count, stride)):
            due = t0 + seq * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sender = senders[turn % len(senders)]
            if sender.closed.done():
                continue
            content = f"~B{number},{seq},{int(due * 1e6)}~ {FILLER}"
            sender.send_text(
                json.dumps({"content": content, "repeat": repeat} if repeat > 1 else {"content": content})
            )
            step.sent += 1

    def close_codes(self) -> dict[str, int]:
        codes: dict[str, int] = {}
        for client in self.clients:
            if client.closed.done():
                key = str(client.close_code)
                codes[key] = codes.get(key, 0) + 1
        return codes

    async def ping_all(self) -> dict[str, Any]:
        """Ping every open client; return pong round-trip percentiles (ms) and misses."""
        open_clients = [client for client in self.clients if not client.closed.done()]
        for client in open_clients:
            client.pongs.clear()
        started = time.perf_counter()
        for client in open_clients:
            client.send_frame(OP_PING, b"bench")
        deadline = started + 5.0
        # Polling: pongs arrive in data_received, which sets no event (the hot path stays lean).
        while time.perf_counter() < deadline and any(not c.pongs for c in open_clients):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        rtts = sorted((c.pongs[0] - started) * 1000 for c in open_clients if c.pongs)
        missing = sum(1 for c in open_clients if not c.pongs)

        def pick(fraction: float) -> float | None:
            return round(rtts[min(len(rtts) - 1, int(len(rtts) * fraction))], 2) if rtts else None

        return {
            "pinged": len(open_clients),
            "missing": missing,
            "p50_ms": pick(0.5),
            "p99_ms": pick(0.99),
            "max_ms": pick(1.0),
        }

    def report(self, number: int) -> dict[str, Any]:
        step = self.steps.setdefault(number, Step())
        step.frozen = True
        cpu, wall = time.process_time(), time.perf_counter()
        # Share of this core the worker used since the step started.
        used = (cpu - self.cpu_mark[0]) / max(1e-9, wall - self.cpu_mark[1])
        hist = {index: n for index, n in enumerate(step.hist) if n}
        result = {
            "step": number,
            "received": step.received,
            "sent": step.sent,
            "open_at_start": step.open_clients,
            "open": self.open_count(),
            "errors": self.errors,
            "late": self.late,
            "other": self.other,
            "cpu": used,
            "hist": hist,
            "close_codes": self.close_codes(),
        }
        step.hist = []
        return result


async def connect_all(worker: Worker, config: dict[str, Any]) -> dict[str, Any]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures: list[str] = []

    async def one(spec: dict[str, Any]) -> None:
        async with gate:
            try:
                client = await connect(
                    config["host"],
                    config["port"],
                    spec["path"],
                    worker.on_text,
                    subprotocols=spec.get("protocols") or [],
                    deflate=bool(config.get("deflate")),
                )
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}")
                return
            worker.clients.append(client)
            if spec.get("sender"):
                worker.senders.append(client)

    await asyncio.gather(*(one(spec) for spec in config["clients"]))
    deflated = sum(1 for client in worker.clients if client.deflate)
    return {
        "ready": len(worker.clients),
        "failed": len(failures),
        "error": failures[0] if failures else "",
        "deflate": deflated,
    }


def reply(body: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(body) + "\n")
    sys.stdout.flush()


async def serve_commands(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        kind = command["cmd"]
        if kind == "step":
            number = command["step"]
            worker.steps[number] = Step(open_clients=worker.open_count())
            worker.cpu_mark = (time.process_time(), time.perf_counter())
            args = (
                command["t0"],
                command["interval"],
                command["count"],
                command["stride"],
                command["offset"],
            )
            repeat = int(command.get("repeat", 1))
            worker.sending.append(asyncio.create_task(worker.send_step(number, *args, repeat=repeat)))
            reply({"open": worker.steps[number].open_clients})
        elif kind == "count":
            step = worker.steps.get(command["step"], Step())
            reply({"received": step.received, "sent": step.sent})
        elif kind == "report":
            reply(worker.report(command["step"]))
        elif kind == "ping":
            reply(await worker.ping_all())
        elif kind == "quit":
            break
    for client in worker.clients:
        client.close()
    pending = [client.closed for client in worker.clients if not client.closed.done()]
    if pending:
        await asyncio.wait(pending, timeout=3.0)
    for client in worker.clients:
        if client.transport is not None:
            client.transport.close()
    reply({"bye": True})


async def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())  # noqa: ASYNC240  (once, before any client)
    worker = Worker()
    reply(await connect_all(worker, config))
    await serve_commands(worker)


if __name__ == "__main__":
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:  # still correct, only slower
        asyncio.run(main(sys.argv[1]))
    else:
        uvloop.run(main(sys.argv[1]))
    os._exit(0)
