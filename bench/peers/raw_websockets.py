"""Peer: the websockets library's own server, fanning out with ``websockets.broadcast()``.

    python bench/peers/raw_websockets.py PORT
"""

from __future__ import annotations

import asyncio
import signal
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve

from message import message_object

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    """Relay each client's message object to every connection, sender included."""
    CLIENTS.add(ws)
    try:
        async for frame in ws:
            if message := message_object(frame):
                broadcast(CLIENTS, message)
    finally:
        CLIENTS.discard(ws)


async def main(port: int) -> None:
    """Serve on 127.0.0.1:PORT until SIGTERM."""
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    # The same frame limit and ping interval as our server.toml; compression is the
    # library's default (permessage-deflate accepted when offered).
    async with serve(handler, "127.0.0.1", port, max_size=65536, ping_interval=20, backlog=4096):
        await stop


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
