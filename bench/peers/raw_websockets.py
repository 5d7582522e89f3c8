"""Peer: the websockets library's own server, fanning out with ``websockets.broadcast()``.

    python bench/peers/raw_websockets.py PORT

Each URL path is a room: a message goes to the connections on the sender's path (the
fan-out benchmark puts every client on ``/ws``; the persist benchmark gives each room a
path of its own).

For the generator check only, a frame may carry ``"repeat": k``: the message then goes to
each connection k times in one write (websockets' own sans-I/O protocol queues the k
frames, one ``send_data()`` flushes them), so the server can emit more frames per second
than the load generator can take and the check measures the generator, not the peer.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from message import parse
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.protocol import State

ROOMS: dict[str, set[ServerConnection]] = {}


async def handler(ws: ServerConnection) -> None:
    """Relay each client's message object to every connection of its room, sender included."""
    room = ROOMS.setdefault(ws.request.path if ws.request else "/", set())
    room.add(ws)
    try:
        async for frame in ws:
            message, repeat = parse(frame)
            if repeat == 1:
                broadcast(room, message)
            elif repeat > 1:
                burst(room, message.encode(), repeat)
    finally:
        room.discard(ws)


def burst(room: set[ServerConnection], message: bytes, repeat: int) -> None:
    """Send ``message`` ``repeat`` times to every open connection of ``room``, one write each."""
    for connection in tuple(room):
        if connection.protocol.state is State.OPEN:
            for _ in range(repeat):
                connection.protocol.send_text(message)
            connection.send_data()


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
