"""Peer: the naive Quart broadcast, a queue and a sending task per connection.

hypercorn --config server.toml naive_quart:app

Each URL path is a room (``/ws`` or ``/ws/<room>``): a message goes to the connections on
the sender's path.
"""

from __future__ import annotations

import asyncio

from message import message_object
from quart import Quart, websocket

app = Quart(__name__)
ROOMS: dict[str, set[asyncio.Queue[str]]] = {}


async def _send_from(queue: asyncio.Queue[str]) -> None:
    while True:
        await websocket.send(await queue.get())


@app.websocket("/ws")
@app.websocket("/ws/<room>")
async def ws(room: str = "") -> None:
    """Relay each client's message object to every connection of its room, sender included."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    queues = ROOMS.setdefault(room, set())
    queues.add(queue)
    sender = asyncio.create_task(_send_from(queue))
    try:
        while True:
            if message := message_object(await websocket.receive()):
                for other in queues:
                    other.put_nowait(message)
    finally:
        queues.discard(queue)
        sender.cancel()
