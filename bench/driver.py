"""Drive load-generator workers (bench/loadgen.py) and turn their reports into figures.

One :class:`Generator` owns a few worker processes pinned to the generator's core; each
holds a share of the clients. :meth:`Generator.run_step` schedules one open-loop step
across them, waits for the deliveries (or the drain timeout) and returns a :class:`StepResult`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from servers import BENCH, GENERATOR_CORE, pinned

#: Seconds between scheduling a step and its first send (workers get the command first).
STEP_LEAD = 0.3
BUCKETS_PER_SECOND = 10_000


def percentile_from_hist(hist: dict[int, int], fraction: float) -> float | None:
    """Return the ``fraction`` percentile (ms) of a 100 µs-bucket histogram (upper edge)."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, math.ceil(total * fraction))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return (bucket + 1) * 1000 / BUCKETS_PER_SECOND
    return None


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class StepResult:
    """One step's figures (latencies in ms; rates per second)."""

    server: str
    deflate: bool
    step: int
    target_rate: float
    messages_per_s: float
    clients: int
    sent: int
    expected: int
    received: int
    lost: int
    errors: int
    closed: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    received_per_s: float
    server_cpu: float
    generator_cpu: float
    duration: float
    close_codes: dict[str, int]
    #: The machine's 1-minute load average after the step (other work shows up here).
    load: float

    def ok(self) -> bool:
        """Below the knee: p99 under 100 ms and nothing lost."""
        return self.lost == 0 and self.errors == 0 and self.p99_ms is not None and self.p99_ms < 100

    def as_json(self) -> str:
        return json.dumps(asdict(self))


class Generator:
    """Worker processes holding the clients of one server."""

    def __init__(
        self, host: str, port: int, clients: list[dict[str, Any]], *, deflate: bool, workers: int
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="pykc-bench-gen-"))
        self.processes: list[subprocess.Popen[str]] = []
        self.clients = len(clients)
        for index in range(workers):
            share = clients[index::workers]
            config = self.workdir / f"worker{index}.json"
            config.write_text(json.dumps({"host": host, "port": port, "deflate": deflate, "clients": share}))
            command = pinned(GENERATOR_CORE, [sys.executable, str(BENCH / "loadgen.py"), str(config)])
            self.processes.append(
                subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            )
        self.ready = [self._read(process) for process in self.processes]

    @staticmethod
    def _read(process: subprocess.Popen[str]) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator worker {process.pid} exited ({process.poll()})")
        return dict(json.loads(line))

    def ask_all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Send ``command`` to every worker; return their replies in order."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
        return [self._read(process) for process in self.processes]

    @property
    def connected(self) -> int:
        return sum(int(ready["ready"]) for ready in self.ready)

    @property
    def deflated(self) -> int:
        return sum(int(ready.get("deflate", 0)) for ready in self.ready)

    def connect_errors(self) -> list[str]:
        return [str(ready["error"]) for ready in self.ready if ready.get("error")]

    def ping(self) -> list[dict[str, Any]]:
        """Ping every client; return each worker's pong percentiles."""
        return self.ask_all({"cmd": "ping"})

    def run_step(
        self,
        *,
        server: str,
        server_pid: int,
        deflate: bool,
        step: int,
        messages_per_s: float,
        duration: float,
        drain: float,
        target_rate: float,
        fanout: int | None = None,
        repeat: int = 1,
    ) -> StepResult:
        """Send ``messages_per_s`` for ``duration`` seconds, open loop; measure deliveries.

        Each message should reach ``fanout`` clients (default: every open client, one room),
        ``repeat`` times each (only the raw websockets peer repeats: the generator check).
        """
        count = max(1, round(messages_per_s * duration))
        interval = duration / count
        t0 = time.perf_counter() + STEP_LEAD
        cpu_before, wall_before = cpu_seconds(server_pid), time.perf_counter()
        workers = len(self.processes)
        starts = [
            {
                "cmd": "step",
                "step": step,
                "t0": t0,
                "interval": interval,
                "count": count,
                "stride": workers,
                "offset": i,
                "repeat": repeat,
            }
            for i in range(workers)
        ]
        opened = 0
        for process, command in zip(self.processes, starts, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
        for process in self.processes:
            opened += int(self._read(process)["open"])
        last_send = t0 + duration
        time.sleep(max(0.0, last_send - time.perf_counter()))
        deadline = last_send + drain
        while True:
            counts = self.ask_all({"cmd": "count", "step": step})
            sent = sum(c["sent"] for c in counts)
            received = sum(c["received"] for c in counts)
            if (
                sent >= count and received >= sent * (fanout or opened) * repeat
            ) or time.perf_counter() >= deadline:
                break
            time.sleep(0.05)
        cpu_after, wall_after = cpu_seconds(server_pid), time.perf_counter()
        reports = self.ask_all({"cmd": "report", "step": step})
        hist: dict[int, int] = {}
        for report in reports:
            for bucket, n in report["hist"].items():
                hist[int(bucket)] = hist.get(int(bucket), 0) + n
        sent = sum(r["sent"] for r in reports)
        received = sum(r["received"] for r in reports)
        expected = sent * (fanout or opened) * repeat
        close_codes: dict[str, int] = {}
        for report in reports:
            for code, n in report["close_codes"].items():
                close_codes[code] = close_codes.get(code, 0) + n
        return StepResult(
            server=server,
            deflate=deflate,
            step=step,
            target_rate=target_rate,
            messages_per_s=messages_per_s,
            clients=opened,
            sent=sent,
            expected=expected,
            received=received,
            lost=max(0, expected - received),
            errors=sum(r["errors"] for r in reports),
            closed=sum(close_codes.values()),
            p50_ms=percentile_from_hist(hist, 0.50),
            p99_ms=percentile_from_hist(hist, 0.99),
            max_ms=percentile_from_hist(hist, 1.0),
            received_per_s=received / duration,
            server_cpu=(cpu_after - cpu_before) / (wall_after - wall_before),
            generator_cpu=sum(r["cpu"] for r in reports),
            duration=duration,
            close_codes=close_codes,
            load=os.getloadavg()[0],
        )

    def close(self) -> None:
        """Close every client and stop the workers."""
        for process in self.processes:
            if process.poll() is None and process.stdin is not None:
                try:
                    process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                    process.stdin.flush()
                except BrokenPipeError:
                    pass
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
