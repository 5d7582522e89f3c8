"""Fan-out benchmark (issue 11): ours against three peers, side by side in one run.

    hatch run bench:fanout                      # full run (~10 min), both modes
    hatch run bench:fanout --quick              # 2 s steps: a smoke run
    hatch run bench:fanout --generator-check    # only show the generator's own ceiling
    hatch run bench:fanout --servers ours,ours_redis --rounds 3   # target 6, median of 3 rounds

Each server in turn runs alone on core 0 (``taskset -c 0``); the load generator
(bench/loadgen.py worker processes) and this driver run on core 1. ``--clients`` clients
(default 1,000) join one room; a few of them also send, open loop, at scheduled times
(each frame carries its scheduled send time, so latency includes any queueing in the
generator), stepping the delivery rate (messages/s x clients). Per step: p50/p99 latency,
frames lost (not delivered within the drain time), error frames, closed connections, and
the CPU share the server and the generator used. The "knee" is the highest delivery rate
with p99 < 100 ms and nothing lost. Every mode runs twice: clients not offering
permessage-deflate, and offering it as browsers do.

Servers: ``raw_websockets`` (websockets' own server, ``broadcast()``), ``bare_asgi`` (an
ASGI app on hypercorn, no framework), ``naive_quart`` (Quart, a queue per connection) and
``ours`` (``hypercorn --config server.toml 'pykcworkshop:create_app()'``: authentication,
SQLite persistence and the chat rate limits on). For ours, the sends are spread over enough
sender users that no per-connection or per-user chat limit is hit. ``ours_redis`` is ours
with ``BROKER_URL`` on the local Redis (``BENCH_REDIS_URL``, default database 13): every
publish goes through Redis and back, as with several processes, while Redis itself runs
beside the generator on core 1 (a local Redis server is pinned there for the run, then
restored).

Output: a table on stdout, JSON lines in bench/results/, and a plot of p99 against the
delivery rate (docs/bench-fanout.png by default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import Generator, StepResult
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

from pykcworkshop.chat.constants import CHAT_RATE, USER_CHAT_RATE

SERVERS = ("raw_websockets", "bare_asgi", "naive_quart", "ours", "ours_redis")
#: Ours on the Redis broker (target 6): a database of its own on the local Redis.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DEFAULT_RATES = (2_500, 5_000, 10_000, 15_000, 25_000, 35_000, 50_000, 65_000, 80_000, 100_000)
CHECK_RATES = (100_000, 150_000, 200_000, 250_000)
#: In the generator check the raw peer sends each message this many times per write.
CHECK_REPEAT = 10
#: Each sender stays at half its chat limits (per connection and per user): one user per
#: sender connection, so only the smaller of the two rates matters.
SENDER_RATE = min(CHAT_RATE[0], USER_CHAT_RATE[0]) / 2
#: Receiving clients of ours share this many users (a user's tabs each hold a socket).
RECEIVER_USERS = 100
#: A step this bad ends the server's run: the next, faster one cannot be better.
GIVE_UP_P99_MS = 1000.0
RESULTS = ROOT / "bench" / "results"
PLOT = ROOT / "docs" / "bench-fanout.png"


def senders_needed(clients: int, top_rate: float) -> int:
    """Return how many sender connections keep each under :data:`SENDER_RATE`."""
    return max(4, math.ceil(top_rate / clients / SENDER_RATE))


def start_server(name: str, clients: int, senders: int) -> tuple[ServerProcess, list[dict[str, Any]]]:
    """Start ``name``; return it and the client specs (path, subprotocols, sender)."""
    if not name.startswith("ours"):
        server = start_peer(name)
        return server, [{"path": server.path, "protocols": [], "sender": i < senders} for i in range(clients)]
    workdir = Path(tempfile.mkdtemp(prefix="pykc-bench-ours-"))
    env = our_env(workdir)
    if name == "ours_redis":
        env["BROKER_URL"] = REDIS_URL
    os.environ["SECRET_KEY"] = env["SECRET_KEY"]  # signs the CSRF tokens below
    users = senders + min(RECEIVER_USERS, max(1, clients - senders))
    [room] = asyncio.run(seed_rooms(env["DB_URI"], [users]))
    path = f"/chat/api/v1/room/{room.room_hash}/chat-message"
    specs = []
    for index in range(clients):
        # Senders: one user each. Receivers: spread over the remaining users.
        user = index if index < senders else senders + (index - senders) % (users - senders)
        specs.append({"path": path, "protocols": subprotocols(room.tokens[user]), "sender": index < senders})
    return start_ours(workdir, env, path=path, name=name), specs


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def print_row(result: StepResult) -> None:
    mode = "deflate" if result.deflate else "plain"
    ok = "ok" if result.ok() else "OVER"
    print(
        f"{result.server:15} {mode:7} {result.target_rate:>8,.0f} {fmt(result.received_per_s):>9} "
        f"{fmt(result.p50_ms, 1):>8} {fmt(result.p99_ms, 1):>9} {result.lost:>7,} {result.errors:>5} "
        f"{result.closed:>6} {result.server_cpu:>5.0%} {result.generator_cpu:>5.0%} "
        f"{result.load:>5.1f}  {ok}",
        flush=True,
    )


HEADER = (
    f"{'server':15} {'mode':7} {'rate/s':>8} {'recv/s':>9} {'p50 ms':>8} {'p99 ms':>9} {'lost':>7} "
    f"{'errs':>5} {'closed':>6} {'srv':>5} {'gen':>5} {'load':>5}"
)


class Target:
    """One server under test and the generator workers holding its clients."""

    def __init__(self, name: str, deflate: bool, rates: list[float], args: argparse.Namespace) -> None:
        self.name, self.deflate = name, deflate
        self.server, specs = start_server(name, args.clients, senders_needed(args.clients, max(rates)))
        self.generator: Generator | None = None
        self.results: list[StepResult] = []
        self.saturated = False
        try:
            self.generator = Generator(
                "127.0.0.1", self.server.port, specs, deflate=deflate, workers=args.workers
            )
        except BaseException:
            self.server.stop()
            raise
        if self.generator.connected != args.clients:
            self.close()
            errors = self.generator.connect_errors()
            raise RuntimeError(
                f"{name}: {self.generator.connected} of {args.clients} clients connected: {errors}"
            )
        if deflate and self.generator.deflated != args.clients:
            print(
                f"  ({name} accepted permessage-deflate on {self.generator.deflated} "
                f"of {args.clients} sockets)"
            )

    def step(
        self,
        number: int,
        rate: float,
        args: argparse.Namespace,
        *,
        record: bool = True,
        repeat: int = 1,
    ) -> StepResult:
        """Run one step at ``rate`` deliveries/s (``record`` False: a 1 s warm-up)."""
        assert self.generator is not None
        result = self.generator.run_step(
            server=self.name,
            server_pid=self.server.pid,
            deflate=self.deflate,
            step=number,
            messages_per_s=rate / args.clients / repeat,
            duration=args.duration if record else 1.0,
            drain=args.drain,
            target_rate=rate,
            repeat=repeat,
        )
        return result

    def keep(self, result: StepResult, give_up_ms: float) -> None:
        """Record the step's result; a bad enough one ends this server's run."""
        self.results.append(result)
        self.saturated = bool(result.lost or result.closed or (result.p99_ms or 0) > give_up_ms)

    def close(self) -> None:
        if self.generator is not None:
            self.generator.close()
        self.server.stop()


def run_mode(
    deflate: bool,
    names: list[str],
    rates: list[float],
    args: argparse.Namespace,
    out: Any,
    *,
    repeat: int = 1,
    clients: int | None = None,
    give_up_ms: float = GIVE_UP_P99_MS,
) -> list[Target]:
    """Run every server of ``names`` through ``rates``, interleaved: each rate on every server.

    All servers and their clients are up at once (idle ones cost nothing) and take turns,
    so a burst of other work on the machine hits every server alike; a saturated server
    sits out the faster rates.
    """
    if clients is not None:
        args = argparse.Namespace(**{**vars(args), "clients": clients})
    targets: list[Target] = []
    try:
        for name in names:
            targets.append(Target(name, deflate, rates, args))
        for target in targets:
            warm = target.step(0, 4 * args.clients, args, record=False)
            out.write(json.dumps({"warmup": True, **json.loads(warm.as_json())}) + "\n")
        for number, rate in enumerate(rates, start=1):
            for target in targets:
                if target.saturated:
                    continue
                result = None
                for attempt in range(1 + args.retries):
                    time.sleep(args.pause)
                    # A step id per attempt: late frames of one never count for the next.
                    tried = target.step(number * 10 + attempt, rate, args, repeat=repeat)
                    out.write(json.dumps({"attempt": attempt, **json.loads(tried.as_json())}) + "\n")
                    out.flush()
                    if result is None or better(tried, result):
                        result = tried
                    if result.ok() or tried.closed:
                        break
                assert result is not None
                target.keep(result, give_up_ms)
                print_row(result)
                out.write(json.dumps({"kept": True, **json.loads(result.as_json())}) + "\n")
                out.flush()
    finally:
        for target in targets:
            target.close()
    return targets


def better(new: StepResult, old: StepResult) -> bool:
    """Whether ``new`` is the better attempt: within the limits, else fewer lost, lower p99."""
    return (not new.ok(), new.lost + new.closed, new.p99_ms or 1e9) < (
        not old.ok(),
        old.lost + old.closed,
        old.p99_ms or 1e9,
    )


def knee(results: list[StepResult]) -> float | None:
    """Return the highest rate with p99 < 100 ms and nothing lost (None: no step passed)."""
    return max((result.target_rate for result in results if result.ok()), default=None)


def summary(all_results: dict[tuple[str, bool], list[StepResult]], rates: list[float]) -> None:
    print(
        "\nSummary: p99 ms per delivery rate (x: frames lost or connections closed); "
        "knee = highest rate with p99 < 100 ms, nothing lost"
    )
    columns = "".join(f"{rate / 1000:>9,.4g}k" for rate in rates)
    print(f"{'server':15} {'mode':7} {columns} {'knee':>10}")
    for (name, deflate), results in all_results.items():
        by_rate = {r.target_rate: r for r in results}
        cells = ""
        for rate in rates:
            r = by_rate.get(rate)
            cell = "-" if r is None else fmt(r.p99_ms) + ("x" if r.lost or r.closed or r.errors else "")
            cells += f"{cell:>10}"
        k = knee(results)
        print(f"{name:15} {'deflate' if deflate else 'plain':7} {cells} {fmt(k):>10}")
    ratios({key: knee(results) for key, results in all_results.items()})


def ratios(knees: dict[tuple[str, bool], float | None]) -> None:
    """Print the issue's ratios (targets 1, 2 and 6) from each (server, deflate)'s knee."""
    for deflate in (False, True):
        ours, bare = knees.get(("ours", deflate)), knees.get(("bare_asgi", deflate))
        if ours is not None and bare:
            print(f"ours / bare_asgi knee ({'deflate' if deflate else 'plain'}): {ours / bare:.2f}")
    plain, deflated = knees.get(("ours", False)), knees.get(("ours", True))
    if plain and deflated is not None:
        print(f"ours deflate / plain knee: {deflated / plain:.2f}")
    for deflate in (False, True):
        ours, redis = knees.get(("ours", deflate)), knees.get(("ours_redis", deflate))
        if ours and redis is not None:
            print(f"ours_redis / ours knee ({'deflate' if deflate else 'plain'}): {redis / ours:.2f}")


def summary_of_rounds(rounds: list[dict[tuple[str, bool], list[StepResult]]]) -> None:
    """Print each server's knee per round and the median, and the ratios of the medians.

    One run's knee moves by a rate step with the machine's other work; the median of a few
    interleaved rounds does not.
    """
    print(f"\nKnee per round and median of {len(rounds)} rounds")
    medians: dict[tuple[str, bool], float | None] = {}
    for key in rounds[0]:
        knees = [knee(results.get(key, [])) or 0.0 for results in rounds]
        medians[key] = statistics.median(knees)
        cells = "".join(f"{fmt(k):>10}" for k in knees)
        print(f"{key[0]:15} {'deflate' if key[1] else 'plain':7} {cells}   median {fmt(medians[key])}")
    print("Ratios of the medians:")
    ratios(medians)


def plot(all_results: dict[tuple[str, bool], list[StepResult]], path: Path, title: str) -> None:
    """Draw p99 against delivery rate, one line per server, one panel per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = sorted({deflate for _name, deflate in all_results})
    figure, axes = plt.subplots(
        1, len(modes), figsize=(6.5 * len(modes), 4.8), sharex=True, sharey=True, squeeze=False
    )
    for axis, deflate in zip(axes[0], modes, strict=True):
        for name in SERVERS:
            results = all_results.get((name, deflate))
            if not results:
                continue
            xs = [r.target_rate / 1000 for r in results]
            ys = [max(r.p99_ms or 0.1, 0.1) for r in results]
            (line,) = axis.plot(xs, ys, marker="o", label=f"{name} (knee {fmt(knee(results))})")
            bad = [(x, y) for x, y, r in zip(xs, ys, results, strict=True) if r.lost or r.closed]
            if bad:
                axis.scatter(*zip(*bad, strict=True), marker="x", s=90, color=line.get_color(), zorder=3)
        axis.axhline(100, color="grey", linestyle="--", linewidth=1)
        axis.set_yscale("log")
        axis.set_xlabel("deliveries per second (thousands)")
        axis.set_title("clients offer permessage-deflate" if deflate else "no compression offered")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    axes[0][0].set_ylabel("p99 latency, ms (x: frames lost)")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"plot: {path}")


def generator_check(args: argparse.Namespace, out: Any) -> bool:
    """Show that the generator alone receives >= 150k frames/s from the raw websockets peer.

    One frame per message and client, the benchmark's shape, cannot show it: the peer then
    tops out first (every frame is its own write). So the peer sends each message
    ``CHECK_REPEAT`` times per write to ``--check-clients`` sockets; a step passes when
    everything arrived, whatever the latency (the peer's core is then the busy one); the
    ``gen`` column shows how much of its core the generator needed.
    """
    print(
        f"\nGenerator check: raw_websockets peer, {args.check_clients} clients, "
        f"{args.workers} worker(s) on core "
        f"{GENERATOR_CORE}, the peer writing each message {CHECK_REPEAT}x per write"
    )
    print(HEADER)
    [target] = run_mode(
        False,
        ["raw_websockets"],
        list(args.check_rates),
        args,
        out,
        repeat=CHECK_REPEAT,
        clients=args.check_clients,
        give_up_ms=float("inf"),
    )
    results = target.results
    best = max((r.received_per_s for r in results if r.lost == 0 and not r.closed), default=0.0)
    passed = best >= 150_000
    print(
        f"generator check: {best:,.0f} frames/s received with nothing lost: "
        f"{'PASS' if passed else 'FAIL'} (>= 150,000)"
    )
    return passed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=list(DEFAULT_RATES),
        help="delivery rates per second, comma-separated",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument(
        "--drain", type=float, default=5.0, help="seconds after a step's last send to wait for deliveries"
    )
    parser.add_argument("--pause", type=float, default=0.5, help="seconds of quiet between steps")
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="run a step over the limits again this many times and keep the best attempt "
        "(a shared machine's hiccups; a saturated server fails every attempt)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run everything this many times; then print each knee's median and the medians' ratios",
    )
    parser.add_argument("--quick", action="store_true", help="2 s steps, 2 s drain, no retries: a smoke run")
    parser.add_argument("--servers", type=lambda s: s.split(","), default=list(SERVERS))
    parser.add_argument("--modes", type=lambda s: s.split(","), default=["plain", "deflate"])
    parser.add_argument("--workers", type=int, default=1, help="load-generator processes (all on core 1)")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run servers and generator at this niceness (negative: ahead of other work; needs root)",
    )
    parser.add_argument("--generator-check", action="store_true", help="run only the generator check")
    parser.add_argument("--no-generator-check", action="store_true", help="skip the generator check")
    parser.add_argument("--check-clients", type=int, default=200, help="clients in the generator check")
    parser.add_argument(
        "--check-rates", type=lambda s: [float(x) for x in s.split(",")], default=list(CHECK_RATES)
    )
    parser.add_argument(
        "--out", type=Path, help="JSON lines file (default: bench/results/fanout-<time>.jsonl)"
    )
    parser.add_argument(
        "--plot", type=lambda s: Path(s) if s else None, default=PLOT, help="PNG plot path ('' for none)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.drain, args.pause, args.retries = 2.0, 2.0, 0.3, 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.clients < 10 or args.clients > 10_000:
        parser.error("--clients must be from 10 to 10,000")
    return args


@contextlib.contextmanager
def local_redis_beside_generator(nice: int) -> Iterator[None]:
    """Pin the local Redis server (``ours_redis``'s broker) to the generator's core meanwhile.

    Unpinned, the machine's Redis also runs on the server's core, taking CPU from the
    server it serves and delaying every publish: the Redis broker then pays for sharing
    one core twice. Its affinity and niceness are restored afterwards. Best effort: a
    Redis on another host (or not ours to pin) is left alone, with a note.
    """
    import redis

    pid = None
    try:
        pid = int(redis.Redis.from_url(REDIS_URL).info("server")["process_id"])
        saved = os.sched_getaffinity(pid), os.getpriority(os.PRIO_PROCESS, pid)
        os.sched_setaffinity(pid, {GENERATOR_CORE})
        if nice:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    except (OSError, redis.RedisError, KeyError, ValueError) as error:
        print(f"(the Redis server stays where it runs: {error})")
        yield
        return
    print(f"(the local Redis server, pid {pid}, runs on core {GENERATOR_CORE} during the run)")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, saved[0])
            os.setpriority(os.PRIO_PROCESS, pid, saved[1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    if args.nice:
        os.environ["BENCH_NICE"] = str(args.nice)
        os.nice(args.nice)
    pin_self(GENERATOR_CORE)
    with contextlib.ExitStack() as stack:
        if "ours_redis" in args.servers and not args.generator_check:
            stack.enter_context(local_redis_beside_generator(args.nice))
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = args.out or RESULTS / f"fanout-{stamp}.jsonl"
    started = time.monotonic()
    with out_path.open("w") as out:
        out.write(json.dumps({"run": stamp, "args": {k: str(v) for k, v in vars(args).items()}}) + "\n")
        if args.generator_check:
            return 0 if generator_check(args, out) else 1
        passed = True if args.no_generator_check else generator_check(args, out)
        rounds: list[dict[tuple[str, bool], list[StepResult]]] = []
        for number in range(1, args.rounds + 1):
            all_results: dict[tuple[str, bool], list[StepResult]] = {}
            round_note = f", round {number} of {args.rounds}" if args.rounds > 1 else ""
            print(f"\nFan-out: {args.clients} clients in one room, {args.duration:g} s per step{round_note}")
            out.write(json.dumps({"round": number}) + "\n")
            print(HEADER)
            for mode in args.modes:
                for target in run_mode(mode == "deflate", args.servers, args.rates, args, out):
                    all_results[(target.name, target.deflate)] = target.results
            summary(all_results, args.rates)
            rounds.append(all_results)
        if len(rounds) > 1:
            summary_of_rounds(rounds)
    print(f"results: {out_path} ({time.monotonic() - started:.0f} s)")
    if args.plot is not None:
        title = (
            f"Fan-out, {args.clients} clients in one room; server on 1 core, generator on the other; "
            f"{args.duration:g} s steps ({stamp})"
        )
        plot(all_results, args.plot, title)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
