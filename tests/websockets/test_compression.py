"""permessage-deflate is off by default and on with ``WEBSOCKET_COMPRESSION=on``.

The switch is a hook into hypercorn's handshake (:mod:`pykcworkshop.chat.api.websockets.compression`);
these tests use a real hypercorn process and a client that offers the extension as
browsers do, so they fail when hypercorn's handshake changes under the hook.
"""

from importlib.metadata import version

from hypercorn.protocol import ws_stream

from pykcworkshop.chat.api.websockets import compression
from tests.support.live_server import LiveServer
from tests.support.websockets import recv_json, ws_connect


async def negotiated(server: LiveServer, room) -> str | None:
    """Open a chat-message socket offering permessage-deflate; return what the server accepted.

    The socket must still work either way: one message goes round trip.
    """
    async with ws_connect(server.ws_url, room.path("chat-message"), room.owner, compression="deflate") as ws:
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        await ws.send('{"content": "compressed or not"}')
        assert (await recv_json(ws))["content"] == "compressed or not"
        return ws.response.headers.get("Sec-WebSocket-Extensions")


def test_hook_fits_the_installed_hypercorn():
    """The hook is checked against these versions; pyproject pins the same range."""
    minor = ".".join(version("hypercorn").split(".")[:2])
    assert minor in compression.HYPERCORN_VERSIONS
    # WSStream looks the handshake class up by this module-level name when a request comes.
    assert "Handshake" in ws_stream.WSStream.handle.__code__.co_names
    assert "extensions" in ws_stream.Handshake.accept.__code__.co_names


async def test_offered_deflate_is_declined_by_default(live_server, room):
    """A client offering permessage-deflate, as every browser does, gets no extension."""
    assert await negotiated(live_server, room) is None


async def test_setting_turns_deflate_back_on(live_server, room, tmp_path):
    """With ``WEBSOCKET_COMPRESSION=on`` the server accepts the offer again."""
    server = LiveServer(tmp_path, {**live_server.env, "WEBSOCKET_COMPRESSION": "on"}).start()
    try:
        accepted = await negotiated(server, room)
    finally:
        server.stop()
    assert accepted is not None and accepted.startswith("permessage-deflate")
