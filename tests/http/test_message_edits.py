"""docs/protocol.md "Moderation routes": editing your own message (PATCH .../messages/<id>), live.

Who may edit, the content rules, what history returns afterwards, the ``message-edited``
room event, and the mention counts that follow the new text.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykcworkshop.chat import db
from pykcworkshop.chat.constants import MAX_CONTENT_LENGTH
from pykcworkshop.chat.tokens import generate_csrf
from pykcworkshop.utils import now
from tests.support.http import assert_problem, bearer
from tests.support.seeding import ModeratedRoom, seed_messages, seed_moderated_room
from tests.support.strategies import bodies, encode, shaped
from tests.support.websockets import assert_silent, recv_json, ws_connect

pytestmark = pytest.mark.usefixtures("database")


async def post(room: ModeratedRoom, who: str, content: str) -> int:
    (message_id,) = await seed_messages(room.hash, room[who], [(content, now())])
    return message_id


def edit_url(room: ModeratedRoom | str, message_id: int | str) -> str:
    room_hash = room if isinstance(room, str) else room.hash
    return f"/room/{room_hash}/messages/{message_id}"


async def edit(api, room: ModeratedRoom, who: str, message_id: int, content: object) -> httpx.Response:
    # Encoded here (ASCII escapes), so a lone surrogate goes out as "\ud800" like a hostile client's.
    body = json.dumps({"content": content}).encode()
    headers = {**bearer(room[who]), "Content-Type": "application/json"}
    return await api.patch(edit_url(room, message_id), content=body, headers=headers)


async def history(ws_url: str, room: ModeratedRoom, who: str = "member2") -> list[dict]:
    async with ws_connect(ws_url, f"/room/{room.hash}/chat-history", room[who]) as ws:
        await ws.send(
            json.dumps({"timestamp": (now() + timedelta(minutes=1)).timestamp() * 1000, "chunk_size": 20})
        )
        return await recv_json(ws)


async def test_the_author_edits_and_gets_the_message_object(api):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "helo")
    response = await edit(api, room, "member", message_id, "hello")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user_name", "user_id", "content", "timestamp", "id", "edited_at"}
    assert (body["id"], body["user_id"], body["user_name"], body["content"]) == (
        message_id, room["member"].id, room["member"].name, "hello",
    )  # fmt: skip
    edited = datetime.fromisoformat(body["edited_at"])
    assert edited.utcoffset() == timedelta(0) and abs(edited - datetime.now(UTC)) < timedelta(minutes=1)
    assert edited > datetime.fromisoformat(body["timestamp"])


@pytest.mark.parametrize("who", ["owner", "moderator", "member2"])
async def test_only_the_author_may_edit_whatever_their_role(api, who):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "mine")
    assert "only your own" in assert_problem(await edit(api, room, who, message_id, "theirs"), 403)["detail"]
    async with db.get_session() as session:
        assert (await session.get(db.ChatMessage, message_id)).content == "mine"


@pytest.mark.parametrize("who", ["outsider", "banned"])
async def test_a_non_member_gets_403(api, who):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "mine")
    assert_problem(await edit(api, room, who, message_id, "x"), 403)


async def test_the_content_length_limit_applies(api):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "short")
    longest = "é" * MAX_CONTENT_LENGTH
    assert (await edit(api, room, "member", message_id, longest)).json()["content"] == longest
    problem = assert_problem(await edit(api, room, "member", message_id, longest + "x"), 400)
    assert "at most 512 characters" in problem["detail"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("bad\x00text", "content must not contain NUL characters"),
        ("", "must not be empty"),
        ("  \n ", "must not be empty"),
        (None, "content must be a string"),
        (42, "content must be a string"),
        (["x"], "content must be a string"),
        ("\ud800", "valid Unicode"),
    ],
)
async def test_bad_content_gets_400_naming_the_field(api, content, reason):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "kept")
    assert reason in assert_problem(await edit(api, room, "member", message_id, content), 400)["detail"]
    async with db.get_session() as session:
        stored = await session.get(db.ChatMessage, message_id)
        assert (stored.content, stored.edited_at) == ("kept", None)


async def test_unknown_deleted_or_foreign_messages_are_404(api, seed):
    room = await seed_moderated_room()
    other = await seed.room(room["member"])
    (foreign,) = await seed_messages(other, room["member"], [("elsewhere", now())])
    deleted = await post(room, "member", "gone")
    url = edit_url(room, deleted)
    assert (await api.delete(url, headers=bearer(room["member"]))).status_code == 204
    for message_id in (deleted, foreign, 999_999_999, "12a", "0", str(2**40)):
        response = await api.patch(
            edit_url(room, message_id), json={"content": "x"}, headers=bearer(room["member"])
        )
        assert_problem(response, 404)
    # Beyond the id columns' range (32-bit on PostgreSQL): unknown, for deleting too.
    assert_problem(await api.delete(edit_url(room, 2**40), headers=bearer(room["member"])), 404)


@pytest.mark.parametrize("room_hash", ["AAAAAAAAAAAAAAAAAAAAAA", "bad%00hash"])
async def test_an_unknown_room_is_404_like_the_other_message_routes(api, room_hash):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "x")
    response = await api.patch(
        edit_url(room_hash, message_id), json={"content": "y"}, headers=bearer(room["member"])
    )
    assert_problem(response, 404)
    assert_problem(await api.delete(edit_url(room_hash, message_id), headers=bearer(room["member"])), 404)


async def test_a_muted_author_may_not_edit_until_unmuted(api):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "before")
    mute = f"/room/{room.hash}/members/{room['member'].id}/mute"
    until = (await api.post(mute, json={"minutes": 5}, headers=bearer(room["owner"]))).json()["muted_until"]
    assert (
        f"muted in this room until {until}"
        in assert_problem(await edit(api, room, "member", message_id, "after"), 403)["detail"]
    )
    assert (await api.delete(mute, headers=bearer(room["owner"]))).status_code == 204
    assert (await edit(api, room, "member", message_id, "after")).status_code == 200


async def test_the_route_needs_a_bearer_and_csrf(api, http_url):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "x")
    assert_problem(await api.patch(edit_url(room, message_id), json={"content": "y"}), 401)
    async with httpx.AsyncClient(base_url=f"{http_url}/chat/api/v1") as no_csrf:
        response = await no_csrf.patch(
            edit_url(room, message_id), json={"content": "y"}, headers=bearer(room["member"])
        )
        assert_problem(response, 401)


async def test_history_returns_the_new_text_and_edited_at_only_on_edited_messages(api, ws_url):
    room = await seed_moderated_room()
    edited_id = await post(room, "member", "first draft")
    plain_id = await post(room, "member", "untouched")
    answer = (await edit(api, room, "member", edited_id, "final text")).json()
    by_id = {message["id"]: message for message in await history(ws_url, room)}
    assert by_id[edited_id]["content"] == "final text"
    assert by_id[edited_id]["edited_at"] == answer["edited_at"]
    assert set(by_id[plain_id]) == {"user_name", "user_id", "content", "timestamp", "id"}


async def test_the_same_text_again_changes_nothing(api):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "same")
    body = (await edit(api, room, "member", message_id, "same")).json()
    assert "edited_at" not in body and body["content"] == "same"


async def test_message_edited_reaches_the_room_events_sockets_and_chat_message_stays_quiet(api, ws_url):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "typo")
    async with AsyncExitStack() as stack:
        sockets = {
            who: await stack.enter_async_context(
                ws_connect(ws_url, f"/room/{room.hash}/room-events", room[who])
            )
            for who in ("owner", "member2")
        }
        chat = await stack.enter_async_context(
            ws_connect(ws_url, f"/room/{room.hash}/chat-message", room["owner"])
        )
        answer = (await edit(api, room, "member", message_id, "fixed")).json()
        for ws in sockets.values():
            assert await recv_json(ws) == {
                "type": "message-edited", "message_id": message_id, "content": "fixed",
                "edited_at": answer["edited_at"], "by_id": room["member"].id, "by_name": room["member"].name,
            }  # fmt: skip
        # The chat-message socket (one of the six) sends nothing new.
        await assert_silent(chat)


async def mention_count(api, room: ModeratedRoom, who: str) -> int:
    rows = (await api.get("/user/rooms/unread", headers=bearer(room[who]))).json()
    return next(row["mentions"] for row in rows if row["room_hash"] == room.hash)


async def say(ws_url: str, room: ModeratedRoom, who: str, content: str) -> int:
    async with ws_connect(ws_url, f"/room/{room.hash}/chat-message", room[who]) as ws:
        await ws.send(json.dumps({"content": content}))
        return (await recv_json(ws))["id"]


async def test_an_edit_re_detects_mentions_for_the_counts(api, ws_url):
    room = await seed_moderated_room()
    member2, moderator = room["member2"].name, room["moderator"].name
    message_id = await say(ws_url, room, "member", f"hi @{member2}")
    assert (await mention_count(api, room, "member2"), await mention_count(api, room, "moderator")) == (1, 0)
    async with ws_connect(ws_url, "/user/events", room["moderator"]) as events:
        await edit(api, room, "member", message_id, f"hi @{moderator}, and @{room['member'].name} (me)")
        # The mentioned members' tabs hear that the counts changed, and fetch them again.
        assert await recv_json(events) == {
            "type": "mentions-changed",
            "room_hash": room.hash,
            "id": message_id,
        }
    assert (await mention_count(api, room, "member2"), await mention_count(api, room, "moderator")) == (0, 1)
    assert await mention_count(api, room, "member") == 0  # never mentioned by their own edit
    await edit(api, room, "member", message_id, "nobody now")
    assert await mention_count(api, room, "moderator") == 0


#: Hostile bodies for the route: shaped around "content", or anything at all.
EDIT_BODIES = st.one_of(
    shaped({"content": "edited"}).map(encode).map(lambda text: text.encode("utf-8", "surrogatepass")),
    bodies("edit"),
)


async def test_hostile_bodies_get_200_or_a_clear_400(api, http_url):
    room = await seed_moderated_room()
    message_id = await post(room, "member", "target")
    url = f"{http_url}/chat/api/v1{edit_url(room, message_id)}"
    headers = {"X-CSRF-TOKEN": generate_csrf(), **bearer(room["member"]), "Content-Type": "application/json"}

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(EDIT_BODIES)
    def check(body: bytes) -> None:
        response = httpx.patch(url, content=body, headers=headers, timeout=30)
        assert response.status_code in (200, 400), (response.status_code, response.text)
        if response.status_code == 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["detail"]
        else:
            content = response.json()["content"]
            assert isinstance(content, str) and content.strip() and len(content) <= MAX_CONTENT_LENGTH

    await asyncio.to_thread(check)
