"""Text no database can take, and numbers no float can hold, on every socket (issue 14).

NUL (U+0000) is refused in all client text on every engine (PostgreSQL cannot store it):
an error frame, and the connection goes on. A room hash holding ``%00`` is an unknown
room (404). A chat-history ``timestamp`` beyond float range is an invalid request. These
tests run on PostgreSQL too (``hatch run test-scale``).
"""

from __future__ import annotations

import json

import pytest

from tests.support.seeding import stored_messages
from tests.support.websockets import (
    GOOD_FRAMES,
    ROOM_SOCKETS,
    SOCKETS,
    handshake_status,
    offer,
    recv_error,
    recv_json,
    socket_path,
    ws_connect,
)

#: A frame per socket whose text holds a NUL, escaped the way JSON allows.
NUL_FRAMES = {
    "chat-message": '{"content": "a\\u0000b"}',
    "member-status": '{"user_status": "Online\\u0000"}',
    "client-sync": "sync\x00text",
    "chat-history": '{"timestamp": 0, "chunk_size": 1, "note\\u0000": 1}',
    "direct-message": '{"content": "a\\u0000b"}',
    "form-validation": '{"type": "create-user", "form_data": {"user_name": "a\\u0000b"}}',
}


def bearer_for(socket: str, room):
    return None if socket == "form-validation" else room.owner.token


@pytest.mark.parametrize("socket", SOCKETS)
async def test_nul_gets_an_error_frame_and_the_socket_goes_on(ws_url, room, socket):
    offered = offer(bearer=bearer_for(socket, room))
    async with ws_connect(ws_url, socket_path(room, socket), subprotocols=offered) as ws:
        await ws.send(NUL_FRAMES[socket])
        assert "NUL" in await recv_error(ws)
        await ws.send(GOOD_FRAMES[socket])
        if socket != "member-status":  # the status goes to the room, the sender included
            reply = await recv_json(ws) if socket != "client-sync" else await ws.recv()
            assert "error" not in (reply if isinstance(reply, dict) else {})


async def test_nul_content_is_not_stored(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(NUL_FRAMES["chat-message"])
        assert "content" in await recv_error(ws)
    assert not [m for m in await stored_messages(room.hash) if "\x00" in m.content]


@pytest.mark.parametrize("socket", ROOM_SOCKETS)
async def test_room_hash_with_nul_is_an_unknown_room(ws_url, room, socket):
    for room_hash in ("a%00b", room.hash[:11] + "%00" + room.hash[12:]):
        path = f"/room/{room_hash}/{socket}"
        assert await handshake_status(ws_url, path, offer(bearer=room.owner.token)) == 404
    # While the room's own hash still opens the socket.
    async with ws_connect(ws_url, room.path(socket), room.owner) as ws:
        assert ws.close_code is None


@pytest.mark.parametrize("timestamp", ["1" + "0" * 400, "-1" + "0" * 400, "1e400", "NaN", "Infinity"])
async def test_history_timestamp_beyond_float_range_is_refused(ws_url, room, timestamp):
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        await ws.send(f'{{"timestamp": {timestamp}, "chunk_size": 1}}')
        assert "timestamp" in await recv_error(ws)
        await ws.send(json.dumps({"timestamp": 0, "chunk_size": 1}))
        assert isinstance(await recv_json(ws), list)
