"""SIGTERM a live server while many websockets are open; see how they ended and what it logged.

Used by ``tests/websockets/test_shutdown.py`` (200 sockets) and ``bench/shutdown.py``
(2,000 or more).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import API
from tests.support.live_server import LiveServer
from tests.support.websockets import offer


@dataclass
class ShutdownReport:
    """How the sockets ended (``(code, reason)`` counts), the server's log, and timings."""

    endings: Counter[tuple[int | None, str | None]]
    log: str
    seconds_to_exit: float
    exit_code: int | None


async def _ending(ws: ClientConnection) -> tuple[int | None, str | None]:
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


async def sigterm_with_open_sockets(workdir: Path, env: dict[str, str], count: int) -> ShutdownReport:
    """Start a server, open ``count`` form-validation sockets, SIGTERM it, report."""
    server = LiveServer(workdir, {**env, "MAX_SOCKETS_PER_ADDRESS": str(count + 10)})
    server.config_overrides["graceful_timeout"] = "10"
    await asyncio.to_thread(server.start)
    try:
        url = f"{server.ws_url}{API}/form-validation"
        sockets = []
        for start in range(0, count, 100):  # in batches: the accept queue is finite
            batch = range(start, min(count, start + 100))
            sockets += await asyncio.gather(*(connect(url, subprotocols=offer()) for _ in batch))
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        endings = Counter(await asyncio.gather(*(_ending(ws) for ws in sockets)))
        exit_code = await asyncio.to_thread(server.process.wait, 30)
        return ShutdownReport(endings, server.log, time.monotonic() - started, exit_code)
    finally:
        server.stop()
