"""``/<user_id>/direct-message``: private, unsaved messages between two users."""

from __future__ import annotations

import json

from tests.support.seeding import stored_messages
from tests.support.websockets import (
    assert_message_object,
    forged_bearer,
    forged_csrf,
    handshake_status,
    offer,
    recv_error,
    recv_json,
    ws_connect,
)


def dm(partner) -> str:
    return f"/{partner.id}/direct-message"


# ---------------------------------------------------------------- handshake


async def test_missing_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=None, bearer=room.owner.token)
    assert await handshake_status(ws_url, dm(room.member), offered) == 401


async def test_forged_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=forged_csrf(), bearer=room.owner.token)
    assert await handshake_status(ws_url, dm(room.member), offered) == 401


async def test_missing_bearer_is_refused_with_401(ws_url, room):
    assert await handshake_status(ws_url, dm(room.member), offer()) == 401


async def test_forged_bearer_is_refused_with_401(ws_url, room):
    offered = offer(bearer=forged_bearer(room.owner))
    assert await handshake_status(ws_url, dm(room.member), offered) == 401


async def test_user_sharing_no_room_is_refused_with_403(ws_url, room):
    offered = offer(bearer=room.outsider.token)
    assert await handshake_status(ws_url, dm(room.member), offered) == 403


async def test_unknown_user_is_refused_with_404(ws_url, room):
    offered = offer(bearer=room.owner.token)
    # The same credentials open a DM to a user who exists: the refusal is about the user.
    async with ws_connect(ws_url, dm(room.member), subprotocols=offered):
        pass
    for user_id in (2**31 - 1, 10**30):
        assert await handshake_status(ws_url, f"/{user_id}/direct-message", offered) == 404


async def test_users_sharing_a_room_are_accepted_with_chat_v1(ws_url, room):
    async with ws_connect(ws_url, dm(room.owner), room.member) as ws:
        assert ws.subprotocol == "chat.v1"


# ---------------------------------------------------------------- delivery


async def test_message_goes_to_both_participants_including_the_sender(ws_url, room):
    a, b = room.owner, room.member
    async with ws_connect(ws_url, dm(b), a) as a_to_b, ws_connect(ws_url, dm(a), b) as b_to_a:
        await a_to_b.send(json.dumps({"content": "psst"}))
        assert (await recv_json(a_to_b))["content"] == "psst"
        assert (await recv_json(b_to_a))["content"] == "psst"
        await b_to_a.send(json.dumps({"content": "what?"}))
        assert (await recv_json(a_to_b))["content"] == "what?"
        assert (await recv_json(b_to_a))["content"] == "what?"


async def test_third_user_receives_nothing(ws_url, room, seed):
    a, b, c = room.owner, room.member, await seed.user()
    await seed.room(c, a)  # C shares a (different) room with A
    async with (
        ws_connect(ws_url, dm(b), a) as a_to_b,
        ws_connect(ws_url, dm(a), b) as b_to_a,
        ws_connect(ws_url, dm(a), c) as c_to_a,
        ws_connect(ws_url, dm(c), a) as a_to_c,
    ):
        await a_to_b.send(json.dumps({"content": "for B only"}))
        assert (await recv_json(b_to_a))["content"] == "for B only"
        await c_to_a.send(json.dumps({"content": "marker"}))
        # C's socket to A, and A's own socket to C, get the marker first: nothing leaked.
        assert (await recv_json(c_to_a))["content"] == "marker"
        assert (await recv_json(a_to_c))["content"] == "marker"


async def test_message_object_has_the_contract_shape_and_session_author(ws_url, room):
    async with ws_connect(ws_url, dm(room.member), room.owner) as ws:
        await ws.send(json.dumps({"content": "shape", "user_name": "Mallory", "user_id": 1}))
        message = await recv_json(ws)
    assert {"user_name", "user_id", "content", "timestamp"} <= set(message)
    assert_message_object(message, room.owner, "shape")


async def test_message_is_never_stored(ws_url, room):
    async with ws_connect(ws_url, dm(room.member), room.owner) as ws:
        await ws.send(json.dumps({"content": "off the record"}))
        await recv_json(ws)
    assert all(m.content != "off the record" for m in await stored_messages(room.hash))


async def test_empty_content_is_dropped_silently(ws_url, room):
    async with ws_connect(ws_url, dm(room.member), room.owner) as ws:
        await ws.send(json.dumps({"content": ""}))
        await ws.send(json.dumps({"content": "next"}))
        assert (await recv_json(ws))["content"] == "next"


async def test_content_over_512_characters_gets_an_error_to_the_sender_only(ws_url, room):
    a, b = room.owner, room.member
    async with ws_connect(ws_url, dm(b), a) as a_to_b, ws_connect(ws_url, dm(a), b) as b_to_a:
        await a_to_b.send(json.dumps({"content": "x" * 513}))
        assert "512" in await recv_error(a_to_b)
        await a_to_b.send(json.dumps({"content": "x" * 512}))
        assert (await recv_json(b_to_a))["content"] == "x" * 512


async def test_content_that_is_not_a_string_gets_an_error(ws_url, room):
    async with ws_connect(ws_url, dm(room.member), room.owner) as ws:
        for content in (7, None, ["x"]):
            await ws.send(json.dumps({"content": content}))
            await recv_error(ws)
        await ws.send(json.dumps({"no": "content"}))
        await recv_error(ws)
