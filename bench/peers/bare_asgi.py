"""Peer: a bare ASGI app on hypercorn, no framework; the receiving task sends to each in turn.

hypercorn --config server.toml bare_asgi:app

Each URL path is a room: a message goes to the connections on the sender's path.
"""

from __future__ import annotations

from typing import Any

from message import message_object

Send = Any
ROOMS: dict[str, set[Send]] = {}


async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
    """Accept every websocket; relay each message object to all connections of its room."""
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    room = ROOMS.setdefault(scope["path"], set())
    room.add(send)
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            message = message_object(event.get("text") or event.get("bytes") or "")
            if message:
                for peer in tuple(room):
                    try:
                        await peer({"type": "websocket.send", "text": message})
                    except Exception:
                        room.discard(peer)
    finally:
        room.discard(send)
