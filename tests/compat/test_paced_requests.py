"""Request/response sockets pace a client that sends faster than their rate.

A client that waits for each reply is already flow-controlled, so the original workshop's
suites send request after request: each must be answered, never refused. A client that
pipelines without waiting is served at the paced rate, in bounded memory, and other
connections do not notice.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

from pykcworkshop.utils import now
from tests.support.live_server import LiveServer
from tests.support.seeding import Room, seed_messages
from tests.support.websockets import recv_json, ws_connect


def server_rss_kib(server: LiveServer) -> int:
    """Return the resident memory of the server process, in KiB."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


async def test_100_back_to_back_history_requests_all_get_correct_replies(ws_url: str, room: Room) -> None:
    start = now() - timedelta(hours=1)
    stamped = [(f"m{i}", start + timedelta(seconds=i)) for i in range(120)]
    await seed_messages(room.hash, room.owner, stamped)
    newest_first = [content for content, _ in reversed(stamped)]
    later = int((now() + timedelta(minutes=1)).timestamp() * 1000)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        for chunk_size in range(1, 101):
            await ws.send(json.dumps({"timestamp": later, "chunk_size": chunk_size}))
            reply = await recv_json(ws)
            assert isinstance(reply, list), reply  # never an error frame
            # The newest message is the member's "has joined" one, seeded before ours.
            contents = [message["content"] for message in reply if message["user_id"] == room.owner.id]
            assert len(reply) == chunk_size
            assert contents == newest_first[: len(contents)]


async def test_100_back_to_back_validation_requests_all_get_replies(ws_url: str, room: Room) -> None:
    async with ws_connect(ws_url, "/form-validation", room.owner) as ws:
        for i in range(100):
            form = {"type": "chat-message", "form_data": {"content": f"draft {i}"}}
            await ws.send(json.dumps(form))
            reply = await recv_json(ws)
            assert reply == {"form_data": form["form_data"], "validation_failed": False, "failure_reason": ""}


async def test_a_pipelining_client_is_paced_in_bounded_memory_without_delaying_others(
    live_server: LiveServer, ws_url: str, room: Room
) -> None:
    # Big frames, so that buffering them all would show in the server's memory.
    padding = "x" * 60_000
    request = json.dumps({"timestamp": 0, "chunk_size": 1, "padding": padding})
    path = room.path("chat-history")
    before = server_rss_kib(live_server)
    # No compression: 60 kB of "x" would shrink to a few bytes on the wire.
    flooding_client = ws_connect(ws_url, path, room.owner, compression=None)
    async with flooding_client as flooder, ws_connect(ws_url, path, room.member) as calm:
        sent = 0

        async def flood() -> None:
            nonlocal sent
            for _ in range(3000):  # 180 MB if the server read them all into memory
                await flooder.send(request)
                sent += 1

        flooding = asyncio.create_task(flood())
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await calm.send(json.dumps({"timestamp": 0, "chunk_size": 1}))
        assert await recv_json(calm) == []
        assert time.monotonic() - started < 1.0
        grown_mib = (server_rss_kib(live_server) - before) / 1024
        # TCP flow control holds the flooder back: only a bounded number of frames is read.
        assert sent < 3000
        assert grown_mib < 40, f"server memory grew by {grown_mib:.0f} MiB"
        flooding.cancel()
        # What the server did read, it answers at the paced rate, with no error frame.
        for _ in range(20):
            assert await recv_json(flooder) == []
