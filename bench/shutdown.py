"""Shutdown figure: SIGTERM a live server with many websockets open.

Not a test (``tests/websockets/test_shutdown.py`` runs 200). Starts a real hypercorn
process, opens ``--sockets`` form-validation websockets, sends SIGTERM, and prints how the
sockets ended (close code and reason), how many tracebacks and shutdown lines the server
logged, and how long it took to exit.

    python bench/shutdown.py                 # 2,000 sockets
    python bench/shutdown.py --sockets 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.live_server import server_env  # noqa: E402
from tests.support.shutdown import sigterm_with_open_sockets  # noqa: E402


async def main(sockets: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        env = server_env(Path(workdir))
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]  # sign CSRF tokens as the server does
        report = await sigterm_with_open_sockets(Path(workdir), env, sockets)
    for (code, reason), count in report.endings.most_common():
        print(f"{count:6d} sockets ended with {code} {reason!r}")
    lines = report.log.splitlines()
    print(f"tracebacks logged: {report.log.count('Traceback')}")
    print(f"shutdown lines: {[line for line in lines if 'shutting down' in line]}")
    print(f"exit code {report.exit_code} after {report.seconds_to_exit:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=2000)
    asyncio.run(main(parser.parse_args().sockets))
