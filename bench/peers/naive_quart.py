"""Peer: the naive Quart broadcast, a queue and a sending task per connection.

hypercorn --config server.toml naive_quart:app
"""

from __future__ import annotations

import asyncio

from message import message_object
from quart import Quart, websocket

app = Quart(__name__)
QUEUES: set[asyncio.Queue[str]] = set()


async def _send_from(queue: asyncio.Queue[str]) -> None:
    while True:
        await websocket.send(await queue.get())


@app.websocket("/ws")
async def ws() -> None:
    """Relay each client's message object to every connection, sender included."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    QUEUES.add(queue)
    sender = asyncio.create_task(_send_from(queue))
    try:
        while True:
            if message := message_object(await websocket.receive()):
                for other in QUEUES:
                    other.put_nowait(message)
    finally:
        QUEUES.discard(queue)
        sender.cancel()
