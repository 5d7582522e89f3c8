"""``hatch run fuzz``: 10^5 hostile frames per socket, on SQLite and on PostgreSQL.

Runs ``tests/fuzz`` twice (SQLite, then ``--pg``), the six sockets in parallel worker
processes, each against a live server whose rate limits are lifted
(:mod:`tests.support.fuzz_app`), and prints the frames each socket took and how long.

    hatch run fuzz                    # 100,000 frames per socket and engine
    hatch run fuzz --frames 20000 --engines sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(engine: str, frames: int, workers: int) -> tuple[int, list[dict[str, float]], float]:
    """Fuzz every socket on ``engine``; return pytest's exit code, the reports, the seconds."""
    with tempfile.TemporaryDirectory() as report:
        env = {**os.environ, "PYKC_FUZZ_FRAMES": str(frames), "PYKC_FUZZ_REPORT": report}
        command = [
            sys.executable, "-m", "pytest", "tests/fuzz/test_fuzz_sockets.py", "-q", "-p", "no:cacheprovider",
            f"--numprocesses={workers}", *(["--pg"] if engine == "postgresql" else []),
        ]  # fmt: skip
        started = time.monotonic()
        code = subprocess.call(command, env=env)
        reports = [json.loads(path.read_text()) for path in sorted(Path(report).glob("*.json"))]
    return code, reports, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="frames per socket and engine")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=3, help="sockets fuzzed at the same time")
    args = parser.parse_args()
    failed = False
    for engine in args.engines.split(","):
        code, reports, seconds = run(engine, args.frames, args.workers)
        print(f"\n{engine}: {'OK' if code == 0 else f'FAILED (pytest exit {code})'} in {seconds:.0f} s")
        for report in reports:
            rate = report["frames"] / report["seconds"] if report["seconds"] else 0
            print(f"  {report['socket']:16} {report['frames']:8d} frames, 0 crashes  ({rate:.0f} frames/s)")
        failed = failed or code != 0 or len(reports) < 6
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
