"""The per-user rate limit: one budget for all of a user's connections."""

import asyncio
import json
from contextlib import AsyncExitStack

from pykcworkshop.chat.constants import SYNC_RATE, USER_SYNC_RATE
from tests.support.websockets import drain_errors, recv_json, ws_connect


async def test_many_connections_of_one_user_share_one_budget(ws_url, seed):
    """Each connection stays within its own burst; together they exceed the user's."""
    user = await seed.user()
    room = await seed.room(user)
    burst = SYNC_RATE[1] - 2  # the "ready" frame below spends one token
    connections = 6  # well over the budget, so refill while sending cannot hide it
    assert connections * burst > USER_SYNC_RATE[1]
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(ws_connect(ws_url, f"/room/{room}/client-sync", user))
            for _ in range(connections)
        ]
        for ws in sockets:  # every subscription is live before the burst
            await ws.send(json.dumps({"ready": True}))
            assert await recv_json(ws) == {"ready": True}
        await asyncio.gather(*(ws.send(f"frame {n}") for ws in sockets for n in range(burst)))
        reasons = [reason for seen in await asyncio.gather(*map(drain_errors, sockets)) for reason in seen]
    assert reasons, "no frame was refused although the user exceeded their burst"
    assert all("your account" in reason for reason in reasons)
