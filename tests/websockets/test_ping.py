"""Idle websockets are pinged by the server (hypercorn's websocket_ping_interval)."""

import asyncio

from pykcworkshop import envfile
from tests.support.live_server import LiveServer
from tests.support.websockets import offer, raw_connect, read_until_opcode

PING = 0x9


def test_served_config_pings_idle_websockets():
    """`hatch run serve` and the test servers use the rendered config, which sets the interval."""
    assert f"websocket_ping_interval = {envfile.WEBSOCKET_PING_INTERVAL}" in envfile.render_server_toml()
    assert 0 < envfile.WEBSOCKET_PING_INTERVAL <= 60


async def test_idle_connection_receives_pings(live_server, room, tmp_path):
    """A client that sends nothing still gets pings (which keep NATs and proxies open)."""
    server = LiveServer(tmp_path, dict(live_server.env), config_overrides={"websocket_ping_interval": "0.2"})
    server.start()
    try:
        sock = await raw_connect(server.ws_url, room.path("chat-message"), offer(bearer=room.owner.token))
        try:
            await asyncio.wait_for(read_until_opcode(sock, PING), 5)
        finally:
            sock.close()
    finally:
        server.stop()
