"""Profile our server under fan-out load: py-spy samples and GC pauses (issue 11, target 1).

    hatch run bench:profile                      # 1,000 clients, 10,000 deliveries/s, 20 s
    hatch run bench:profile --rate 20000 --seconds 10 --deflate

Starts ours exactly as bench:fanout does (core 0), plus the GC probe (bench/probe/
sitecustomize.py, on PYTHONPATH, so it also loads in hypercorn's spawned worker), drives
one long open-loop step from core 1 and meanwhile samples the serving process with
``py-spy record --format raw``. Prints where the CPU time went: self time by source line,
inclusive time by function, and by package; then GC pauses per generation. The raw
collapsed stacks stay in bench/results/ (load them in speedscope or flamegraph.pl), and
``--svg`` also writes py-spy's flame graph.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import Generator
from fanout import senders_needed, start_server
from servers import BENCH, GENERATOR_CORE, ROOT, pin_self, pinned, raise_fd_limit

RESULTS = ROOT / "bench" / "results"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def short_path(path: str) -> str:
    """Shorten a source path to the part after site-packages/, src/ or the stdlib folder.

    (py-spy already prints most paths that way.)
    """
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def package_of(path: str) -> str:
    """Return the top-level package (or stdlib module) a source file belongs to."""
    head = short_path(path).split("/", 1)[0]
    return head.removesuffix(".py")


def analyse(raw: Path, top: int) -> dict[str, list[tuple[str, float]]]:
    """Aggregate py-spy's collapsed stacks: self by line, inclusive by function, by package."""
    by_line: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for text in raw.read_text().splitlines():
        stack, _, count_text = text.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = []
        for part in stack.split(";"):
            match = _FRAME.match(part)
            if match:
                frames.append((match["func"], match["file"], int(match["line"])))
        if not frames:
            continue
        total += count
        func, file, line = frames[-1]
        by_line[f"{short_path(file)}:{line} {func}"] += count
        by_package[package_of(file)] += count
        for name in {f"{short_path(f)} {fn}" for fn, f, _ in frames}:
            by_function[name] += count
    share = 100.0 / total if total else 0.0
    return {
        "self by line": [(k, v * share) for k, v in by_line.most_common(top)],
        "inclusive by function": [(k, v * share) for k, v in by_function.most_common(top)],
        "self by package": [(k, v * share) for k, v in by_package.most_common()],
        "samples": [("total", float(total))],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="ours", help="which server to profile (as in bench:fanout)")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10_000, help="deliveries per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate")
    parser.add_argument("--sample-rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--svg", action="store_true", help="also record a flame graph (a second, shorter run)"
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    pin_self(GENERATOR_CORE)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    probe = Path(tempfile.mkdtemp(prefix="pykc-bench-gc-")) / "gc"
    os.environ["BENCH_GC_PROBE"] = str(probe)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(BENCH / "probe"), os.environ.get("PYTHONPATH", "")])
    server, specs = start_server(args.server, args.clients, senders_needed(args.clients, args.rate))
    # Only the server's processes should carry the probe.
    del os.environ["BENCH_GC_PROBE"]
    os.environ["PYTHONPATH"] = os.environ["PYTHONPATH"].split(os.pathsep, 1)[1]
    raw = RESULTS / f"profile-{stamp}.txt"
    generator = None
    try:
        generator = Generator("127.0.0.1", server.port, specs, deflate=args.deflate, workers=1)
        assert generator.connected == args.clients, generator.connect_errors()
        spy_bin = str(Path(sys.executable).with_name("py-spy"))
        spy = subprocess.Popen(
            pinned(
                GENERATOR_CORE,
                [
                    spy_bin,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw",
                    "--rate",
                    str(args.sample_rate),
                    "--duration",
                    str(int(args.seconds)),
                    "--output",
                    str(raw),
                    "--nonblocking",
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)
        step_began = time.monotonic()
        result = generator.run_step(
            server=args.server,
            server_pid=server.pid,
            deflate=args.deflate,
            step=1,
            messages_per_s=args.rate / args.clients,
            duration=args.seconds,
            drain=5.0,
            target_rate=args.rate,
        )
        step_ended = time.monotonic()
        _out, err = spy.communicate(timeout=60)
        if spy.returncode:
            print(f"py-spy failed: {err.strip()}")
        if args.svg:
            svg = RESULTS / f"profile-{stamp}.svg"
            subprocess.run(
                pinned(
                    GENERATOR_CORE,
                    [
                        spy_bin,
                        "record",
                        "--pid",
                        str(server.pid),
                        "--rate",
                        str(args.sample_rate),
                        "--duration",
                        "5",
                        "--output",
                        str(svg),
                        "--nonblocking",
                    ],
                ),
                check=False,
                capture_output=True,
            )
            generator.run_step(
                server=args.server,
                server_pid=server.pid,
                deflate=args.deflate,
                step=2,
                messages_per_s=args.rate / args.clients,
                duration=5.0,
                drain=5.0,
                target_rate=args.rate,
            )
            print(f"flame graph: {svg}")
    finally:
        if generator is not None:
            generator.close()
        time.sleep(1.5)  # one more probe write
        server.stop()
    print(
        f"Profile of {args.server}: {args.clients} clients,"
        f" {args.rate:,.0f} deliveries/s for {args.seconds:g} s"
        f"{', deflate offered' if args.deflate else ''}"
    )
    print(
        f"load during the run: p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, lost {result.lost:,}, "
        f"server CPU {result.server_cpu:.0%}, generator CPU {result.generator_cpu:.0%}, "
        f"machine load {result.load:.1f}"
    )
    report: dict[str, object] = {"args": vars(args), "step": json.loads(result.as_json())}
    if raw.exists():
        figures = analyse(raw, args.top)
        print(f"py-spy: {figures['samples'][0][1]:,.0f} samples (on-CPU only) -> {raw}")
        for title in ("self by package", "self by line", "inclusive by function"):
            print(f"\n{title} (% of samples):")
            for name, share in figures[title]:
                print(f"  {share:5.1f}%  {name}")
        report["profile"] = figures
    gc_files = sorted(glob.glob(f"{probe}.*.json"))
    if gc_files:
        print("\nGC pauses (per process; hypercorn's worker is the one that served):")
        for path in gc_files:
            summary = json.loads(Path(path).read_text())
            report.setdefault("gc", []).append(summary)  # type: ignore[union-attr]
            gens = ", ".join(
                f"gen{g}: {summary[f'gen{g}']['count']} x, total {summary[f'gen{g}']['total_ms']} ms, "
                f"p99 {summary[f'gen{g}']['p99_ms']} ms, max {summary[f'gen{g}']['max_ms']} ms"
                for g in range(3)
            )
            print(
                f"  pid {summary['pid']} ({summary['seconds']:.0f} s, "
                f"thresholds {summary['thresholds']}): {gens}"
            )
            during = [row for row in summary.get("stalls", []) if step_began <= row[0] <= step_ended]
            pauses = [row for row in summary.get("long_pauses", []) if step_began <= row[0] <= step_ended]
            if during or pauses:
                print(
                    f"    during the step: {len(during)} loop callbacks over 10 ms"
                    f" (longest {max((r[1] for r in during), default=0) * 1000:.0f} ms),"
                    f" {len(pauses)} collections over 10 ms"
                )
                for ended, took, what in sorted(during, key=lambda r: -r[1])[:8]:
                    print(f"      +{ended - step_began:6.2f} s  {took * 1000:6.1f} ms  {what}")
                for ended, generation, took in pauses[:8]:
                    print(
                        f"      +{ended - step_began:6.2f} s  {took * 1000:6.1f} ms"
                        f"  gen{generation} collection"
                    )
    (RESULTS / f"profile-{stamp}.json").write_text(json.dumps(report, indent=1, default=str))
    shutil.rmtree(probe.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
