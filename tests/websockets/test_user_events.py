"""The per-user events socket ``/user/events`` (docs/protocol.md "Read positions"), live.

Two tabs of one user: one marks a room read, the other's events socket hears of it; a new
message in any joined room reaches the member's events socket (not the content), and
nothing reaches users who are not members.
"""

from __future__ import annotations

import json

import pytest

from tests.support.http import bearer
from tests.support.seeding import Room, Seeder
from tests.support.websockets import assert_silent, handshake_status, offer, recv_error, recv_json, ws_connect

pytestmark = pytest.mark.usefixtures("database")

EVENTS = "/user/events"


async def test_a_second_tab_hears_that_the_first_read_a_room(api, room: Room, ws_url):
    async with (
        ws_connect(ws_url, EVENTS, room.member) as tab_one,
        ws_connect(ws_url, EVENTS, room.member) as tab_two,
        ws_connect(ws_url, room.path("chat-message"), room.owner) as chat,
    ):
        await chat.send(json.dumps({"content": "read me"}))
        message_id = (await recv_json(chat))["id"]
        for tab in (tab_one, tab_two):
            assert (await recv_json(tab))["type"] == "message"
        response = await api.put(
            f"/room/{room.hash}/read", json={"message_id": message_id}, headers=bearer(room.member)
        )
        assert response.status_code == 200
        expected = {"type": "read", "room_hash": room.hash, "last_read_id": message_id}
        assert await recv_json(tab_two) == expected
        assert await recv_json(tab_one) == expected
        # Not moved (same position again): nothing to tell.
        await api.put(f"/room/{room.hash}/read", json={"message_id": message_id}, headers=bearer(room.member))
        await assert_silent(tab_two)


async def test_messages_in_joined_rooms_arrive_without_content(room: Room, seed: Seeder, ws_url):
    other = await seed.room(room.owner, room.member)
    async with (
        ws_connect(ws_url, EVENTS, room.member) as events,
        ws_connect(ws_url, EVENTS, room.outsider) as outsider,
        ws_connect(ws_url, f"/room/{other}/chat-message", room.owner) as chat,
    ):
        await chat.send(json.dumps({"content": f"secret for @{room.member.name}"}))
        sent = await recv_json(chat)
        event = await recv_json(events)
        assert event == {
            "type": "message",
            "room_hash": other,
            "id": sent["id"],
            "user_id": room.owner.id,
            "mentions": [room.member.id],
        }
        await assert_silent(outsider)


async def test_the_author_hears_of_their_own_message_too(room: Room, ws_url):
    async with (
        ws_connect(ws_url, EVENTS, room.owner) as events,
        ws_connect(ws_url, room.path("chat-message"), room.owner) as chat,
    ):
        await chat.send(json.dumps({"content": "mine"}))
        event = await recv_json(events)
        assert (event["user_id"], event["mentions"]) == (room.owner.id, [])


async def test_the_socket_only_sends(room: Room, ws_url):
    async with ws_connect(ws_url, EVENTS, room.member) as events:
        await events.send("{}")
        assert "only sends" in await recv_error(events)


async def test_a_bearer_is_required(room: Room, ws_url):
    assert await handshake_status(ws_url, EVENTS, offer()) == 401
    assert await handshake_status(ws_url, EVENTS, offer(bearer="forged")) == 401
