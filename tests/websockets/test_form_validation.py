"""``/form-validation``: realtime validation of the app's forms."""

from __future__ import annotations

import json

import pytest

from tests.support import unique_name
from tests.support.websockets import (
    forged_bearer,
    forged_csrf,
    handshake_status,
    offer,
    recv_error,
    recv_json,
    ws_connect,
)

PATH = "/form-validation"


async def validate(ws, form_type, form_data) -> dict:
    await ws.send(json.dumps({"type": form_type, "form_data": form_data}))
    reply = await recv_json(ws)
    assert set(reply) == {"form_data", "validation_failed", "failure_reason"}, reply
    assert reply["form_data"] == form_data
    assert isinstance(reply["failure_reason"], str)
    assert reply["validation_failed"] is bool(reply["failure_reason"])
    return reply


async def reason(ws, form_type, form_data) -> str:
    """Return the failure reason ("" when the form is valid)."""
    return str((await validate(ws, form_type, form_data))["failure_reason"])


@pytest.fixture
async def ws(ws_url):
    """A form-validation connection with a CSRF token and no bearer."""
    async with ws_connect(ws_url, PATH) as connection:
        yield connection


# ---------------------------------------------------------------- handshake


async def test_missing_csrf_is_refused_with_401(ws_url):
    assert await handshake_status(ws_url, PATH, offer(csrf=None)) == 401


async def test_forged_csrf_is_refused_with_401(ws_url):
    assert await handshake_status(ws_url, PATH, offer(csrf=forged_csrf())) == 401


async def test_csrf_alone_is_accepted_with_chat_v1(ws_url):
    async with ws_connect(ws_url, PATH) as connection:
        assert connection.subprotocol == "chat.v1"


async def test_invalid_bearer_is_ignored_not_refused(ws_url, seed):
    user = await seed.user()
    name = unique_name("room")
    await seed.room(user, name=name)
    async with ws_connect(ws_url, PATH, subprotocols=offer(bearer=forged_bearer(user))) as connection:
        # The forged bearer does not count as `user`, so their room name is free here.
        assert await reason(connection, "create-room", {"room_name": name, "user_id": user.id + 10**6}) == ""


# ---------------------------------------------------------------- replies


async def test_reply_echoes_form_data_exactly(ws):
    form_data = {"user_name": "Zoë 🎉", "extra": [1, 2.5, None, {"nested": True}], "z": "", "a": -0.5}
    reply = await validate(ws, "create-user", form_data)
    assert reply["form_data"] == form_data
    assert list(reply["form_data"]) == list(form_data)  # key order kept


async def test_reply_goes_to_the_requesting_client_only(ws_url):
    async with ws_connect(ws_url, PATH) as asker, ws_connect(ws_url, PATH) as other:
        assert await reason(asker, "chat-message", {"content": "x" * 513})
        # The other client's first frame is the reply to its own request.
        assert await reason(other, "chat-message", {"content": "fine"}) == ""


async def test_frame_that_is_not_a_json_object_gets_an_error_frame(ws):
    for frame in ("not json", "[1, 2]", '"text"', "42"):
        await ws.send(frame)
        await recv_error(ws)
    assert await reason(ws, "chat-message", {"content": "still usable"}) == ""


async def test_unknown_type_fails_with_a_reason(ws):
    assert await reason(ws, "delete-everything", {"content": "x"})
    assert await reason(ws, None, {"content": "x"})


async def test_form_data_that_is_not_an_object_fails_with_a_reason(ws):
    for form_data in (None, "user", ["user_name"], 7):
        assert await reason(ws, "create-user", form_data)


async def test_type_is_checked_before_form_data(ws):
    assert "type" in await reason(ws, "bogus", None)


# ---------------------------------------------------------------- create-user


async def test_create_user_with_a_free_name_passes(ws):
    assert await reason(ws, "create-user", {"user_name": unique_name()}) == ""


async def test_create_user_name_of_32_characters_passes(ws):
    assert await reason(ws, "create-user", {"user_name": unique_name().ljust(32, "x")}) == ""


async def test_create_user_name_over_32_characters_fails(ws):
    assert "32" in await reason(ws, "create-user", {"user_name": unique_name().ljust(33, "x")})


async def test_create_user_empty_or_blank_name_fails(ws):
    for name in ("", "   "):
        assert "empty" in await reason(ws, "create-user", {"user_name": name})


async def test_create_user_missing_or_non_string_name_fails(ws):
    assert await reason(ws, "create-user", {})
    assert await reason(ws, "create-user", {"user_name": 42})


async def test_create_user_name_with_control_characters_fails(ws):
    assert "control" in await reason(ws, "create-user", {"user_name": "bell\x07"})


async def test_create_user_taken_name_fails_in_any_case(ws, seed):
    user = await seed.user()
    assert "taken" in await reason(ws, "create-user", {"user_name": user.name})
    assert "taken" in await reason(ws, "create-user", {"user_name": f"  {user.name.upper()} "})


async def test_create_user_cheaper_rules_are_reported_before_taken(ws, seed):
    user = await seed.user()
    too_long = user.name.ljust(33, "x")
    assert "32" in await reason(ws, "create-user", {"user_name": too_long})


# ---------------------------------------------------------------- create-room


async def test_create_room_name_owned_by_form_user_id_fails(ws, seed):
    owner = await seed.user()
    name = unique_name("room")
    await seed.room(owner, name=name)
    assert "own" in await reason(ws, "create-room", {"room_name": name.upper(), "user_id": owner.id})


async def test_create_room_name_owned_by_someone_else_passes(ws, seed):
    owner, other = await seed.user(), await seed.user()
    name = unique_name("room")
    await seed.room(owner, name=name)
    assert await reason(ws, "create-room", {"room_name": name, "user_id": other.id}) == ""


async def test_create_room_checks_the_bearers_rooms_over_form_user_id(ws_url, seed):
    owner, other = await seed.user(), await seed.user()
    name = unique_name("room")
    await seed.room(owner, name=name)
    async with ws_connect(ws_url, PATH, owner) as connection:
        assert "own" in await reason(connection, "create-room", {"room_name": name, "user_id": other.id})
        assert "own" in await reason(connection, "create-room", {"room_name": name})
    async with ws_connect(ws_url, PATH, other) as connection:
        assert await reason(connection, "create-room", {"room_name": name, "user_id": owner.id}) == ""


async def test_create_room_without_bearer_or_valid_user_id_fails(ws):
    for form_data in (
        {"room_name": "r"},
        {"room_name": "r", "user_id": "1"},
        {"room_name": "r", "user_id": 10**30},
    ):
        assert "user_id" in await reason(ws, "create-room", form_data)


async def test_create_room_name_rules(ws, seed):
    owner = await seed.user()
    assert "empty" in await reason(ws, "create-room", {"room_name": " ", "user_id": owner.id})
    assert "32" in await reason(ws, "create-room", {"room_name": "r" * 33, "user_id": owner.id})
    assert "control" in await reason(ws, "create-room", {"room_name": "a\x07b", "user_id": owner.id})
    assert await reason(ws, "create-room", {"user_id": owner.id})
    assert await reason(ws, "create-room", {"room_name": "r" * 32, "user_id": owner.id}) == ""


async def test_create_room_name_rules_come_before_the_owner_check(ws):
    assert "32" in await reason(ws, "create-room", {"room_name": "r" * 33})


# ---------------------------------------------------------------- chat-message


async def test_chat_message_of_512_characters_passes(ws):
    assert await reason(ws, "chat-message", {"content": "x" * 512}) == ""


async def test_chat_message_over_512_characters_fails(ws):
    assert "512" in await reason(ws, "chat-message", {"content": "x" * 513})


async def test_chat_message_empty_content_passes(ws):
    assert await reason(ws, "chat-message", {"content": ""}) == ""


async def test_chat_message_missing_or_non_string_content_fails(ws):
    assert await reason(ws, "chat-message", {})
    assert await reason(ws, "chat-message", {"content": 5})
