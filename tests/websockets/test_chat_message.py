"""``/room/<room_hash>/chat-message``: realtime chat between the members of a room."""

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


async def authored(room_hash: str, author_id: int) -> list[str]:
    """Return the contents stored in the room by one author, oldest first."""
    return [m.content for m in await stored_messages(room_hash) if m.author_id == author_id]


# ---------------------------------------------------------------- handshake


async def test_missing_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=None, bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("chat-message"), offered) == 401


async def test_forged_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=forged_csrf(), bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("chat-message"), offered) == 401


async def test_missing_bearer_is_refused_with_401(ws_url, room):
    assert await handshake_status(ws_url, room.path("chat-message"), offer()) == 401


async def test_forged_bearer_is_refused_with_401(ws_url, room):
    offered = offer(bearer=forged_bearer(room.owner))
    assert await handshake_status(ws_url, room.path("chat-message"), offered) == 401


async def test_non_member_is_refused_with_403(ws_url, room):
    offered = offer(bearer=room.outsider.token)
    assert await handshake_status(ws_url, room.path("chat-message"), offered) == 403


async def test_unknown_room_is_refused_with_404(ws_url, room):
    offered = offer(bearer=room.owner.token)
    # The same credentials open a room that exists: the refusal is about the room.
    async with ws_connect(ws_url, room.path("chat-message"), subprotocols=offered):
        pass
    assert await handshake_status(ws_url, "/room/no-such-room/chat-message", offered) == 404


async def test_member_is_accepted_with_chat_v1(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.member) as ws:
        assert ws.subprotocol == "chat.v1"


# ---------------------------------------------------------------- broadcast


async def test_message_goes_to_every_connection_including_the_sender(ws_url, room):
    path = room.path("chat-message")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.owner) as senders_other_tab,
        ws_connect(ws_url, path, room.member) as member,
    ):
        await sender.send(json.dumps({"content": "hello room"}))
        for ws in (sender, senders_other_tab, member):
            assert (await recv_json(ws))["content"] == "hello room"


async def test_message_object_has_the_contract_shape(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(json.dumps({"content": "shape"}))
        message = await recv_json(ws)
    assert set(message) == {"user_name", "user_id", "content", "timestamp", "id"}
    assert isinstance(message["id"], int)
    assert_message_object(message, room.owner, "shape")


async def test_author_comes_from_the_session_not_from_the_client(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.member) as ws:
        await ws.send(json.dumps({"content": "who am I", "user_name": "Mallory", "user_id": 1}))
        message = await recv_json(ws)
    assert_message_object(message, room.member, "who am I")
    assert await authored(room.hash, room.member.id) == ["who am I"]


async def test_message_is_stored_before_it_is_broadcast(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(json.dumps({"content": "stored first"}))
        message = await recv_json(ws)
        # Checked while still connected: the message was in the database when it arrived.
        [stored] = [m for m in await stored_messages(room.hash) if m.id == message["id"]]
    assert (stored.author_id, stored.content) == (room.owner.id, "stored first")
    assert stored.timestamp == assert_message_object(message, room.owner, "stored first")


async def test_messages_of_one_connection_arrive_in_the_order_sent(ws_url, room):
    path = room.path("chat-message")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.member) as member,
    ):
        for n in range(10):
            await sender.send(json.dumps({"content": f"message {n}"}))
        assert [(await recv_json(member))["content"] for _ in range(10)] == [
            f"message {n}" for n in range(10)
        ]


async def test_other_rooms_receive_nothing(ws_url, room, seed):
    other_room = await seed.room(room.outsider)
    async with (
        ws_connect(ws_url, room.path("chat-message"), room.owner) as here,
        ws_connect(ws_url, f"/room/{other_room}/chat-message", room.outsider) as elsewhere,
    ):
        await here.send(json.dumps({"content": "only here"}))
        assert (await recv_json(here))["content"] == "only here"
        await elsewhere.send(json.dumps({"content": "marker"}))
        # Its first frame is its own marker: "only here" never reached it.
        assert (await recv_json(elsewhere))["content"] == "marker"


# ---------------------------------------------------------------- content rules


async def test_empty_content_is_dropped_silently_and_not_stored(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(json.dumps({"content": ""}))
        await ws.send(json.dumps({"content": "after the empty one"}))
        # No reply to the empty message: the next frame is the next message.
        assert (await recv_json(ws))["content"] == "after the empty one"
    assert await authored(room.hash, room.owner.id) == ["after the empty one"]


async def test_content_of_512_characters_is_accepted(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(json.dumps({"content": "x" * 512}))
        assert (await recv_json(ws))["content"] == "x" * 512


async def test_content_over_512_characters_gets_an_error_and_is_not_stored(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(json.dumps({"content": "x" * 513}))
        assert "512" in await recv_error(ws)
    assert await authored(room.hash, room.owner.id) == []


async def test_content_that_is_not_a_string_gets_an_error(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        for content in (42, None, ["a"], {"text": "a"}, True):
            await ws.send(json.dumps({"content": content}))
            await recv_error(ws)
    assert await authored(room.hash, room.owner.id) == []


async def test_missing_content_gets_an_error(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send(json.dumps({"user_name": "no content"}))
        await recv_error(ws)


async def test_content_with_unpaired_surrogate_gets_an_error(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send('{"content": "broken \\ud800 text"}')
        await recv_error(ws)
        await ws.send(json.dumps({"content": "emoji 🎉 fine"}))
        assert (await recv_json(ws))["content"] == "emoji 🎉 fine"


async def test_error_frame_goes_to_the_sender_only(ws_url, room):
    path = room.path("chat-message")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.member) as member,
    ):
        await sender.send(json.dumps({"content": "x" * 513}))
        await recv_error(sender)
        await sender.send(json.dumps({"content": "valid"}))
        # The member's first frame is the valid message, not the error.
        assert (await recv_json(member))["content"] == "valid"


async def test_connection_stays_usable_after_an_error(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        await ws.send("not json")
        await recv_error(ws)
        await ws.send(json.dumps({"content": "still works"}))
        assert (await recv_json(ws))["content"] == "still works"
