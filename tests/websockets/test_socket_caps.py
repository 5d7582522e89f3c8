"""Caps on open websockets per user and per client address (issue 14, defect 2).

A server with ``MAX_SOCKETS_PER_USER=3`` and ``MAX_SOCKETS_PER_ADDRESS=5``: the handshake
over a cap is refused with 429 and a problem detail naming the cap; closing a socket
frees its slot at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack

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
        await asyncio.sleep(0.2)
        async with connect(url, subprotocols=offered) as again:
            await again.send(json.dumps({"content": "room again"}))


async def test_an_addresss_sockets_are_capped(capped):
    url = f"{capped.ws_url}{API}/form-validation"
    async with AsyncExitStack() as stack:
        for _ in range(PER_ADDRESS):
            await stack.enter_async_context(connect(url, subprotocols=offer()))
        status, problem = await refusal(url, offer())
        assert status == 429 and "address" in problem["detail"] and str(PER_ADDRESS) in problem["detail"]
    await asyncio.sleep(0.2)
    async with connect(url, subprotocols=offer()):
        pass
