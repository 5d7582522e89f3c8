"""docs/protocol.md "Read positions": unread counts and marking a room read, on the live server."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from pykcworkshop.utils import now
from tests.support.http import NOT_AN_OBJECT, assert_problem, bearer
from tests.support.seeding import Room, Seeder, seed_messages, seed_room
from tests.support.websockets import recv_json, ws_connect

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def chat() -> Room:
    """A fresh room with its owner, a member and an outsider (tests/http's ``room`` is a bare hash)."""
    return await seed_room()


async def say(ws_url: str, room: Room, user, content: str) -> int:
    async with ws_connect(ws_url, room.path("chat-message"), user) as ws:
        await ws.send(json.dumps({"content": content}))
        return (await recv_json(ws))["id"]


async def counts(api, user) -> dict[str, dict]:
    response = await api.get("/user/rooms/unread", headers=bearer(user))
    assert response.status_code == 200, response.text
    return {row["room_hash"]: row for row in response.json()}


async def test_unread_lists_every_joined_room_with_counts(api, chat: Room, seed: Seeder, ws_url):
    other = await seed.room(chat.owner, chat.member)
    await say(ws_url, chat, chat.owner, "one")
    last = await say(ws_url, chat, chat.owner, f"hi @{chat.member.name}")
    rows = await counts(api, chat.member)
    assert set(rows) == {chat.hash, other}
    assert set(rows[chat.hash]) == {"room_hash", "unread", "mentions", "last_read_id", "newest_id"}
    # The newest message the counts include: a client skips live events up to it.
    assert rows[chat.hash]["newest_id"] == last
    assert (rows[chat.hash]["unread"], rows[chat.hash]["mentions"]) == (2, 1)
    assert (rows[other]["unread"], rows[other]["mentions"]) == (0, 0)
    assert rows[chat.hash]["last_read_id"] < last
    # The author's own messages are read.
    assert (await counts(api, chat.owner))[chat.hash]["unread"] == 0


async def test_unread_of_a_user_in_no_room_is_empty(api, seed: Seeder):
    assert await counts(api, await seed.user()) == {}


async def test_mark_read_advances_and_answers_the_new_counts(api, chat: Room, ws_url):
    first = await say(ws_url, chat, chat.owner, "one")
    second = await say(ws_url, chat, chat.owner, f"@{chat.member.name}")
    response = await api.put(
        f"/room/{chat.hash}/read", json={"message_id": first}, headers=bearer(chat.member)
    )
    assert response.status_code == 200
    assert response.json() == {
        "room_hash": chat.hash,
        "unread": 1,
        "mentions": 1,
        "last_read_id": first,
        "newest_id": second,
    }
    response = await api.put(
        f"/room/{chat.hash}/read", json={"message_id": second}, headers=bearer(chat.member)
    )
    assert response.json() == {
        "room_hash": chat.hash,
        "unread": 0,
        "mentions": 0,
        "last_read_id": second,
        "newest_id": second,
    }


async def test_mark_read_never_moves_backwards(api, chat: Room, ws_url):
    first = await say(ws_url, chat, chat.owner, "one")
    second = await say(ws_url, chat, chat.owner, "two")
    await api.put(f"/room/{chat.hash}/read", json={"message_id": second}, headers=bearer(chat.member))
    response = await api.put(
        f"/room/{chat.hash}/read", json={"message_id": first}, headers=bearer(chat.member)
    )
    assert response.status_code == 200
    assert response.json()["last_read_id"] == second


async def test_mark_read_refuses_a_message_of_another_room(api, chat: Room, seed: Seeder):
    other = await seed.room(chat.owner, chat.member)
    (foreign,) = await seed_messages(other, chat.owner, [("elsewhere", now())])
    response = await api.put(
        f"/room/{chat.hash}/read", json={"message_id": foreign}, headers=bearer(chat.member)
    )
    assert "not a message of this room" in assert_problem(response, 400)["detail"]
    response = await api.put(
        f"/room/{chat.hash}/read", json={"message_id": 2**62}, headers=bearer(chat.member)
    )
    assert_problem(response, 400)


@pytest.mark.parametrize("value", [None, "1", 1.5, True, 0, -3, 2**63, [1]])
async def test_mark_read_refuses_a_bad_message_id(api, chat: Room, value):
    body = {} if value is None else {"message_id": value}
    response = await api.put(f"/room/{chat.hash}/read", json=body, headers=bearer(chat.member))
    assert "message_id must be" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("body", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_mark_read_refuses_a_body_that_is_not_an_object(api, chat: Room, body):
    response = await api.put(
        f"/room/{chat.hash}/read",
        content=body,
        headers={**bearer(chat.member), "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


async def test_mark_read_is_for_members_only(api, chat: Room, ws_url):
    message = await say(ws_url, chat, chat.owner, "one")
    response = await api.put(
        f"/room/{chat.hash}/read", json={"message_id": message}, headers=bearer(chat.outsider)
    )
    assert_problem(response, 403)
    response = await api.put(
        "/room/AAAAAAAAAAAAAAAAAAAAAA/read", json={"message_id": message}, headers=bearer(chat.member)
    )
    assert_problem(response, 400)


async def test_both_routes_need_a_bearer_and_csrf(api, chat: Room, http_url):
    assert_problem(await api.get("/user/rooms/unread"), 401)
    assert_problem(await api.put(f"/room/{chat.hash}/read", json={"message_id": 1}), 401)
    async with httpx.AsyncClient(base_url=f"{http_url}/chat/api/v1") as no_csrf:
        assert_problem(await no_csrf.get("/user/rooms/unread", headers=bearer(chat.member)), 401)


async def _read_repeatedly(api, chat: Room, message_id: int) -> list[int]:
    statuses = []
    for _ in range(20):
        response = await api.put(
            f"/room/{chat.hash}/read", json={"message_id": message_id}, headers=bearer(chat.member)
        )
        statuses.append(response.status_code)
    return statuses


async def _remove(api, chat: Room, removal: str) -> int:
    await asyncio.sleep(0.01)
    if removal == "kick":
        response = await api.post(
            f"/room/{chat.hash}/members/{chat.member.id}/kick", headers=bearer(chat.owner)
        )
    else:
        response = await api.delete(f"/room/{chat.hash}", headers=bearer(chat.owner))
    return response.status_code


@pytest.mark.parametrize("removal", ["kick", "delete room"])
async def test_marking_read_while_being_removed_is_never_a_500(api, removal: str):
    # A removal that commits between the read's checks and its answer used to leave no
    # row to answer with: a 500 instead of the 403 any non-member gets.
    for _ in range(5):
        chat = await seed_room()
        [message_id] = await seed_messages(chat.hash, chat.owner, [("hello", now())])
        statuses, removed = await asyncio.gather(
            _read_repeatedly(api, chat, message_id), _remove(api, chat, removal)
        )
        assert removed == 204
        assert set(statuses) <= {200, 400, 403}, statuses
