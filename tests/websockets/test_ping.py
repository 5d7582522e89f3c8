"""Idle websockets are pinged by the server (hypercorn's websocket_ping_interval)."""

import asyncio

from wsproto.events import Ping

from pykcworkshop import envfile, hypercorn_fixes
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


async def test_a_ping_to_a_client_that_stopped_reading_gives_up_and_frees_the_send_lock():
    """A stuck ping must not hold the connection's send lock: the close frame comes next."""
    lock = asyncio.Lock()

    class StuckStream:
        async def _send_wsproto_event(self, event):
            async with lock:  # as hypercorn's TCPServer.protocol_send holds its send lock
                await asyncio.Event().wait()  # drain() on a client that stopped reading

    began = asyncio.get_running_loop().time()
    await asyncio.wait_for(hypercorn_fixes._send_quietly(StuckStream(), Ping()), 5)
    assert asyncio.get_running_loop().time() - began < hypercorn_fixes.SEND_TIMEOUT + 1
    assert not lock.locked()
