"""Open sockets re-check their session (SESSION_RECHECK_SECONDS; 1 s on the test server).

A token revoked, replaced or expired with no control event (straight in the database)
still closes its sockets with 4001 at the next sweep; other sessions stay open.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from pykcworkshop.chat import db
from pykcworkshop.chat.api.websockets.closing import CloseCode
from tests.support.seeding import Room, SeededUser, Seeder
from tests.support.websockets import GOOD_FRAMES, close_code, next_frame, ws_connect

pytestmark = pytest.mark.usefixtures("database")


async def revoke(user: SeededUser) -> None:
    async with db.get_session() as session:
        row = await db.get_user_by_id(session, user.id)
        row.token.revoked = True
        await session.commit()


async def replace(user: SeededUser) -> None:
    async with db.get_session() as session:
        await db.replace_token(session, user.id)
        await session.commit()


@pytest.mark.parametrize("end", [revoke, replace], ids=["revoked", "replaced"])
async def test_a_socket_closes_when_its_token_stops_working(ws_url, room: Room, end):
    async with (
        ws_connect(ws_url, room.path("chat-message"), room.owner) as owner_ws,
        ws_connect(ws_url, room.path("member-status"), room.member) as member_ws,
    ):
        await owner_ws.send(GOOD_FRAMES["chat-message"])
        await next_frame(owner_ws)
        await end(room.owner)
        assert await close_code(owner_ws, timeout=4) == CloseCode.SESSION_ENDED
        assert owner_ws.close_reason == "session ended"
        await member_ws.send(GOOD_FRAMES["member-status"])
        await next_frame(member_ws)


async def test_a_socket_closes_when_its_token_expires(ws_url, seed: Seeder):
    user = await seed.user(token_expiration=timedelta(seconds=3))
    async with ws_connect(ws_url, "/form-validation", user) as ws:
        await ws.send(GOOD_FRAMES["form-validation"])
        await next_frame(ws)
        assert await close_code(ws, timeout=6) == CloseCode.SESSION_ENDED


async def test_a_socket_without_a_bearer_is_not_rechecked(ws_url, seed: Seeder):
    async with ws_connect(ws_url, "/form-validation") as ws:
        await asyncio.sleep(2.2)
        await ws.send(GOOD_FRAMES["form-validation"])
        await next_frame(ws)
