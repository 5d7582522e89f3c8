"""``hatch run fuzz``: 10^5 hostile frames per socket, on SQLite and on PostgreSQL.

Runs ``tests/fuzz/test_fuzz_sockets.py`` once per engine (SQLite, then ``--pg``), the six
sockets in parallel worker processes, each against its own live server whose rate limits
are lifted (:mod:`tests.support.fuzz_app`), and prints per socket the hostile frames sent
and checked, the error frames they got, the crashes (any failed property) and frames/s.
Exits non-zero if any socket failed. (Generating the frames is most of the cost, so all
six sockets run at once, one process each, to use every core.)

    hatch run fuzz                    # 100,000 frames per socket and engine
    hatch run fuzz --frames 20000 --engines sqlite --summary docs/fuzz.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def run(engine: str, frames: int, workers: int) -> tuple[int, list[dict[str, Any]], float]:
    """Fuzz every socket on ``engine``; return pytest's exit code, the reports, the seconds."""
    with tempfile.TemporaryDirectory(prefix=f"pykc-fuzz-{engine}-") as report:
        print(f"{engine}: fuzzing; each socket's counts so far are in {report}/", flush=True)
        env = {**os.environ, "PYKC_FUZZ_FRAMES": str(frames), "PYKC_FUZZ_REPORT": report}
        command = [
            sys.executable, "-m", "pytest", "tests/fuzz/test_fuzz_sockets.py", "-q", "-p", "no:cacheprovider",
            f"--numprocesses={workers}", *(["--pg"] if engine == "postgresql" else []),
        ]  # fmt: skip
        started = time.monotonic()
        code = subprocess.call(command, env=env)
        reports = [json.loads(path.read_text()) for path in sorted(Path(report).glob("*.json"))]
    return code, reports, time.monotonic() - started


def table(engine: str, code: int, reports: list[dict[str, Any]], seconds: float) -> list[str]:
    """Return the printed lines for one engine: a verdict and one line per socket."""
    total = sum(report["frames"] for report in reports)
    verdict = "OK" if code == 0 and len(reports) == 6 else f"FAILED (pytest exit {code})"
    lines = [
        f"{engine}: {verdict}, {total:,} frames in {seconds:.0f} s ({total / seconds:.0f} frames/s)",
        f"  {'socket':16} {'frames':>9} {'errors':>9} {'batches':>8} {'crashes':>7} {'frames/s':>8}",
    ]
    for report in reports:
        rate = report["frames"] / report["seconds"] if report["seconds"] else 0
        crashes = 1 if report["failure"] else 0
        lines.append(
            f"  {report['socket']:16} {report['frames']:9d} {report['errors']:9d} {report['batches']:8d}"
            f" {crashes:7d} {rate:8.0f}"
        )
        if report["failure"]:
            lines.append(f"    {report['failure']}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="frames per socket and engine")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=6, help="sockets fuzzed at the same time")
    parser.add_argument("--summary", type=Path, help="also append the tables to this Markdown file")
    args = parser.parse_args()
    failed = False
    for engine in args.engines.split(","):
        code, reports, seconds = run(engine, args.frames, args.workers)
        lines = table(engine, code, reports, seconds)
        print("\n" + "\n".join(lines), flush=True)
        if args.summary:
            with args.summary.open("a", encoding="utf-8") as summary:
                command = f"hatch run fuzz --frames {args.frames} --engines {engine} --workers {args.workers}"
                stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
                summary.write(f"\n`{command}` ({stamp}):\n\n```\n" + "\n".join(lines) + "\n```\n")
        failed = failed or code != 0 or len(reports) < 6 or any(report["failure"] for report in reports)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
