"""The session re-check is one sweep per process, alive only while sockets are open."""

from __future__ import annotations

import pytest

from pykcworkshop.chat.api.websockets import control
from tests.support import API, eventually
from tests.support.seeding import Room
from tests.support.websockets import GOOD_FRAMES, offer

pytestmark = pytest.mark.usefixtures("database")


async def test_the_sweep_runs_while_sockets_are_open_and_stops_after(local_app_factory, room: Room):
    async with local_app_factory(SESSION_RECHECK_SECONDS="60") as app:
        registry = app.extensions[control.EXTENSION]
        assert registry.sweep is not None and not registry.sweep.running
        client = app.test_client()
        path = f"{API}/room/{room.hash}/chat-message"
        async with (
            client.websocket(path, scope_base={"subprotocols": offer(bearer=room.owner.token)}) as one,
            client.websocket(path, scope_base={"subprotocols": offer(bearer=room.member.token)}) as two,
        ):
            for ws in (one, two):
                await ws.send(GOOD_FRAMES["chat-message"])
                await ws.receive()
            assert registry.sweep.running
            # Both sessions are good: the check ends nothing.
            assert await registry.sweep.check() == 0

        async def stopped() -> bool:
            return not registry.sweep.running and not registry.by_user

        await eventually(stopped, "the sweep to stop with the last socket")
