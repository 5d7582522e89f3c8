"""Helpers shared by the test suites and the benchmarks in ``bench/``.

Fixtures live in the ``conftest.py`` files; everything they and the tests build on lives
here, one module a job:

- :mod:`.live_server` a real hypercorn process serving the app, and its backends;
- :mod:`.databases` fresh PostgreSQL databases, pointing the data layer elsewhere;
- :mod:`.services` PostgreSQL/Redis availability, a private redis-server, free ports;
- :mod:`.seeding` users, rooms and messages created through the data layer;
- :mod:`.websockets` websocket clients and what the socket tests check;
- :mod:`.http` problem+json assertions and token builders for the HTTP tests;
- :mod:`.browser` driving the chat page in Chromium (the e2e tests).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Awaitable, Callable

#: Prefix of every HTTP and websocket endpoint of the API.
API = "/chat/api/v1"


def machine_is_loaded() -> bool:
    """Whether more processes want to run than there are cores (other test runs): timing
    bounds then allow more, still far below the delays the defects they catch caused."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def unique_name(prefix: str = "user") -> str:
    """Return a name no other test uses (at most 32 characters)."""
    return f"{prefix[:20]}-{secrets.token_hex(5)}"


def tampered(token: str) -> str:
    """Return ``token`` with one character of its signature changed.

    Not the last character: a base64 signature's last character carries padding bits, so
    some changes there decode to the same bytes and the token would stay valid.
    """
    position = len(token) - 5
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    """Poll ``check`` until it returns True; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
