"""docs/protocol.md "Logging out": POST /user/logout ends the session everywhere.

The stored token is replaced (keeping its expiry), the old one stops working at once, the
login key keeps working, and every socket opened with the old token closes with 4001.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from pykcworkshop.chat import db
from pykcworkshop.chat.api.websockets.closing import CloseCode
from tests.support.http import assert_problem, bearer
from tests.support.seeding import Room, Seeder
from tests.support.websockets import (
    GOOD_FRAMES,
    SOCKETS,
    close_code,
    next_frame,
    recv_json,
    socket_path,
    ws_connect,
)

pytestmark = pytest.mark.usefixtures("database")


async def stored_token(user_id: int) -> db.UserToken:
    async with db.get_session() as session:
        return (await db.get_user_by_id(session, user_id)).token


async def test_logout_replaces_the_token_and_keeps_the_login_key(api, seed: Seeder):
    user = await seed.user(token_expiration=timedelta(hours=2))
    before = await stored_token(user.id)
    response = await api.post("/user/logout", headers=bearer(user))
    assert response.status_code == 204, response.text
    assert response.content == b""
    after = await stored_token(user.id)
    assert after.token != user.token
    # Logging out never extends a session.
    assert after.expires_at == before.expires_at
    assert_problem(await api.get("/user/rooms/joined", headers=bearer(user)), 401)
    assert_problem(await api.post("/user/logout", headers=bearer(user)), 401)
    login = await api.post("/user/login", json={"user_hash": user.login_key})
    assert login.status_code == 200
    assert login.json()["user_token"] == after.token != user.token
    fresh = {"Authorization": f"Bearer {after.token}"}
    assert (await api.get("/user/rooms/joined", headers=fresh)).status_code == 200


async def test_logout_needs_a_valid_bearer(api, seed: Seeder):
    assert_problem(await api.post("/user/logout"), 401)
    user = await seed.user()
    assert_problem(await api.post("/user/logout", headers={"Authorization": "Bearer nope"}), 401)
    # The failed attempts ended nothing.
    assert (await stored_token(user.id)).token == user.token


async def test_an_expired_account_still_gets_401_after_logout(api, seed: Seeder):
    user = await seed.user(token_expiration=timedelta(seconds=2))
    assert (await api.post("/user/logout", headers=bearer(user))).status_code == 204
    await asyncio.sleep(2.1)
    assert_problem(await api.post("/user/login", json={"user_hash": user.login_key}), 401)


async def test_every_socket_opened_with_the_old_token_closes_with_4001(api, ws_url, room: Room):
    """The owner's six sockets close within a second; the member's stay open."""
    async with (
        ws_connect(ws_url, room.path("chat-message"), room.member) as bystander,
    ):
        opened = [await ws_connect(ws_url, socket_path(room, s), room.owner).__aenter__() for s in SOCKETS]
        try:
            for socket, ws in zip(SOCKETS, opened, strict=True):
                await ws.send(GOOD_FRAMES[socket])
                await next_frame(ws)
            started = time.monotonic()
            assert (await api.post("/user/logout", headers=bearer(room.owner))).status_code == 204
            codes = await asyncio.gather(*(close_code(ws, timeout=3) for ws in opened))
            assert codes == [CloseCode.SESSION_ENDED] * len(SOCKETS)
            assert time.monotonic() - started < 1.5
            assert all(ws.close_reason == "signed out" for ws in opened)
            await bystander.send(GOOD_FRAMES["chat-message"])
            assert (await recv_json(bystander))["content"] == "still here"
        finally:
            for ws in opened:
                await ws.close()
