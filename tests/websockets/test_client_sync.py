"""``/room/<room_hash>/client-sync``: a byte-for-byte relay between a room's clients."""

from __future__ import annotations

from tests.support.websockets import (
    forged_bearer,
    forged_csrf,
    handshake_status,
    next_frame,
    offer,
    recv_error,
    ws_connect,
)

#: Frames the server must not parse, reformat or reject.
ODD_FRAMES = (
    '{ "spaced" :  1 ,"order":[3,2,1] }',
    "not json at all {",
    "",
    "  leading and trailing  ",
    "ünïcödé 🎉 \u200d text",
    '{"error": "a client may send this key; it is relayed as is"}',
)


# ---------------------------------------------------------------- handshake


async def test_missing_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=None, bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("client-sync"), offered) == 401


async def test_forged_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=forged_csrf(), bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("client-sync"), offered) == 401


async def test_missing_bearer_is_refused_with_401(ws_url, room):
    assert await handshake_status(ws_url, room.path("client-sync"), offer()) == 401


async def test_forged_bearer_is_refused_with_401(ws_url, room):
    offered = offer(bearer=forged_bearer(room.owner))
    assert await handshake_status(ws_url, room.path("client-sync"), offered) == 401


async def test_non_member_is_refused_with_403(ws_url, room):
    offered = offer(bearer=room.outsider.token)
    assert await handshake_status(ws_url, room.path("client-sync"), offered) == 403


async def test_unknown_room_is_refused_with_404(ws_url, room):
    offered = offer(bearer=room.owner.token)
    # The same credentials open a room that exists: the refusal is about the room.
    async with ws_connect(ws_url, room.path("client-sync"), subprotocols=offered):
        pass
    assert await handshake_status(ws_url, "/room/no-such-room/client-sync", offered) == 404


# ---------------------------------------------------------------- relay


async def test_frame_is_relayed_byte_for_byte_to_everyone_including_the_sender(ws_url, room):
    path = room.path("client-sync")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.member) as member,
    ):
        for frame in ODD_FRAMES:
            await sender.send(frame)
            assert await next_frame(sender) == frame
            assert await next_frame(member) == frame


async def test_large_frame_is_relayed_unchanged(ws_url, room):
    frame = "y" * 60_000
    async with ws_connect(ws_url, room.path("client-sync"), room.owner) as ws:
        await ws.send(frame)
        assert await next_frame(ws) == frame


async def test_other_rooms_receive_nothing(ws_url, room, seed):
    other_room = await seed.room(room.outsider)
    async with (
        ws_connect(ws_url, room.path("client-sync"), room.owner) as here,
        ws_connect(ws_url, f"/room/{other_room}/client-sync", room.outsider) as elsewhere,
    ):
        await here.send("only here")
        assert await next_frame(here) == "only here"
        await elsewhere.send("marker")
        assert await next_frame(elsewhere) == "marker"


async def test_binary_frame_gets_an_error_to_the_sender_only(ws_url, room):
    path = room.path("client-sync")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.member) as member,
    ):
        await sender.send(b"\x00\x01binary")
        await recv_error(sender)
        await sender.send("text again")
        assert await next_frame(member) == "text again"
        assert await next_frame(sender) == "text again"
