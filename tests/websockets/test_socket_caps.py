"""Caps on open websockets per user and per client address (issue 14, defect 2).

A server with ``MAX_SOCKETS_PER_USER=3`` and ``MAX_SOCKETS_PER_ADDRESS=5``: the handshake
over a cap is refused with 429 and a problem detail naming the cap; closing a socket
frees its slot at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect

from tests.support import API
from tests.support.live_server import LiveServer
from tests.support.websockets import offer

PER_USER, PER_ADDRESS = 3, 5


@pytest.fixture(scope="module")
def capped(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        **live_server.env,
        "MAX_SOCKETS_PER_USER": str(PER_USER),
        "MAX_SOCKETS_PER_ADDRESS": str(PER_ADDRESS),
    }
    server = LiveServer(tmp_path_factory.mktemp("capped"), env)
    yield server.start()
    server.stop()


async def refusal(url: str, offered: list[str]) -> tuple[int, dict]:
    try:
        async with connect(url, subprotocols=offered, open_timeout=10):
            pass
    except websockets.exceptions.InvalidStatus as refused:
        response = refused.response
        assert response.headers["Content-Type"].startswith("application/problem+json")
        return response.status_code, json.loads(response.body)
    raise AssertionError("the handshake was accepted")


def connect_once_free(url: str, offered: list[str], timeout: float = 10.0) -> Any:
    """Connect, waiting while the address is still at its cap (closed sockets free their
    slots once the server has finished with them, which takes a moment under load)."""

    @asynccontextmanager
    async def connected() -> AsyncIterator[Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                ws = await connect(url, subprotocols=offered, open_timeout=10)
                break
            except websockets.exceptions.InvalidStatus as refused:
                if refused.response.status_code != 429 or asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)
        try:
            yield ws
        finally:
            await ws.close()

    return connected()


async def test_a_users_sockets_are_capped_and_a_closed_one_frees_its_slot(capped, room):
    url = f"{capped.ws_url}{API}{room.path('chat-message')}"
    offered = offer(bearer=room.owner.token)
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connect(url, subprotocols=offered)) for _ in range(PER_USER)
        ]
        status, problem = await refusal(url, offered)
        assert status == 429 and "account" in problem["detail"] and str(PER_USER) in problem["detail"]
        # Another member of the room is not affected by the owner's sockets.
        async with connect(url, subprotocols=offer(bearer=room.member.token)):
            pass
        await sockets[0].close()
        async with connect_once_free(url, offered) as again:
            await again.send(json.dumps({"content": "room again"}))


async def test_an_addresss_sockets_are_capped(capped):
    url = f"{capped.ws_url}{API}/form-validation"
    async with AsyncExitStack() as stack:
        # Slots of the previous test's sockets may still be in use for a moment.
        for _ in range(PER_ADDRESS):
            await stack.enter_async_context(connect_once_free(url, offer()))
        status, problem = await refusal(url, offer())
        assert status == 429 and "address" in problem["detail"] and str(PER_ADDRESS) in problem["detail"]
    async with connect_once_free(url, offer()):
        pass
