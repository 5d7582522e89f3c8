"""The app with two test-only routes, for a live server the tests look inside.

Served as ``tests.support.introspect_app:create_app()`` (see :func:`introspected_server`):

- ``GET /_test/stats``: this worker's pid, running asyncio tasks, open file descriptors
  (``/proc/self/fd``) and resident memory (``/proc/self/statm``), as JSON;
- ``/_test/crash`` (websocket): accepts, then fails in the handler, so the server closes
  it with 1011.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from quart import Quart, jsonify

from pykcworkshop import create_app as create_chat_app
from pykcworkshop.chat.api.websockets.socket import serve

ROOT = Path(__file__).resolve().parents[2]


def stats() -> dict[str, int]:
    """Return this process's pid, asyncio task count, open fds and RSS in bytes."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return {
        "pid": os.getpid(),
        "tasks": len(asyncio.all_tasks()),
        "fds": len(os.listdir("/proc/self/fd")),
        "rss": pages * os.sysconf("SC_PAGE_SIZE"),
    }


def create_app() -> Quart:
    """Return the chat app plus the test routes."""
    app = create_chat_app()

    @app.get("/_test/stats")
    async def test_stats() -> Any:
        return jsonify(stats())

    @app.websocket("/_test/crash")
    async def crash() -> None:
        async with serve((10.0, 10)) as socket:
            async for _ in socket.text_frames():
                raise RuntimeError("a handler crash, on purpose")

    return app


def introspected_env(env: dict[str, str]) -> dict[str, str]:
    """Return ``env`` with the repository on PYTHONPATH, so hypercorn finds this module."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
