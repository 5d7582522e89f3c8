"""Three accounts inside every rate limit cannot get a room's other members disconnected.

Issue 14, defect 1: on member-status or client-sync, 3 users x 3 sockets each sending a
40-frame burst (within the per-connection burst of 40 and the per-user 120) overflowed
every other member's 256-frame queue, and all of them were closed with 1013. Now statuses
conflate per user and client-sync has a per-room budget shared fairly between senders.
The readers run in a separate process and must all still be open afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack, suppress
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.websockets import GOOD_FRAMES, drain_errors, offer, ws_connect

ROOT = Path(__file__).resolve().parents[2]
ATTACKERS, SOCKETS_EACH, BURST, ROUNDS, READERS = 3, 3, 40, 3, 4
FRAMES = {
    "member-status": [json.dumps({"user_status": s}) for s in ("Typing", "Online")],
    "client-sync": [json.dumps({"type": "flood", "n": n}) for n in range(2)],
}


async def start_readers(ws_url: str, seconds: float, pairs: list[tuple[str, list[str]]]):
    args = [arg for path, offered in pairs for arg in (path, ",".join(offered))]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.flood_readers", ws_url, str(seconds), *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 30)).strip() == b"ready"
    return process


async def send(ws, frame: str) -> None:
    """Send, unless the server already closed this flooder (its own queue, or abuse)."""
    with suppress(ConnectionClosed):
        await ws.send(frame)


@pytest.mark.parametrize("socket", ["member-status", "client-sync"])
async def test_three_flooding_accounts_evict_nobody(ws_url, seed, socket):
    attackers = [await seed.user() for _ in range(ATTACKERS)]
    readers = [await seed.user() for _ in range(READERS)]
    room = await seed.room(attackers[0], *attackers[1:], *readers)
    path = f"/room/{room}/{socket}"
    pairs = [(f"/chat/api/v1{path}", offer(bearer=reader.token)) for reader in readers]
    process = await start_readers(ws_url, 2.5 * ROUNDS + 2, pairs)
    try:
        async with AsyncExitStack() as stack:
            flooders = [
                await stack.enter_async_context(ws_connect(ws_url, path, attacker))
                for attacker in attackers
                for _ in range(SOCKETS_EACH)
            ]
            for _ in range(ROUNDS):
                await asyncio.gather(
                    *(send(ws, FRAMES[socket][n % 2]) for n in range(BURST) for ws in flooders)
                )
                await asyncio.sleep(2.2)
            refused = [await drain_errors(ws, quiet=0.5) for ws in flooders]
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert [r["close_code"] for r in results] == [None] * READERS, results
    assert all(r["frames"] > 0 for r in results), results
    if socket == "client-sync":
        # The flooders, not the readers, pay: their frames over the room's share are refused.
        assert any("busy" in error for errors in refused for error in errors)


async def test_a_flood_of_statuses_leaves_each_users_latest(ws_url, seed):
    flooder, reader = await seed.user(), await seed.user()
    room = await seed.room(flooder, reader)
    path = f"/room/{room}/member-status"
    async with ws_connect(ws_url, path, reader) as listening, ws_connect(ws_url, path, flooder) as ws:
        for status in ["Typing", "Online"] * 15 + ["Typing"]:
            await ws.send(json.dumps({"user_status": status}))
        seen = []
        while True:
            try:
                seen.append(json.loads(await asyncio.wait_for(listening.recv(), 1.0)))
            except TimeoutError:
                break
        assert seen and seen[-1]["user_status"] == "Typing"
        assert all(event["user_id"] == flooder.id for event in seen)
        await ws.send(GOOD_FRAMES["member-status"])
        assert json.loads(await asyncio.wait_for(listening.recv(), 5))["user_status"] == "Online"
