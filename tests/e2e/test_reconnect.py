"""Reconnecting after the server process restarts: nothing missed, nothing twice.

This test stops and starts a server, so it runs its OWN LiveServer (same SECRET_KEY as the
session's server, so that tokens signed in this process work there too) with its own
SQLite database, and seeds that database through its own engine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from pykcworkshop.chat import db
from tests.support import unique_name
from tests.support.browser import NETWORK_DOWN_ERRORS, Browsing, contents, member, message_ids, send_message
from tests.support.live_server import LiveServer, server_env
from tests.support.seeding import SeededUser
from tests.support.websockets import ws_connect

pytestmark = pytest.mark.e2e

MISSED = 105  # more than one catch-up page (100)
RECONNECT_TIMEOUT_MS = 25_000  # the browser backs off up to 10 s between attempts


@dataclass
class OwnServer:
    server: LiveServer
    sessions: async_sessionmaker[AsyncSession]

    async def user(self) -> SeededUser:
        async with self.sessions() as session:
            user, key = await db.create_user(session, user_name=unique_name())
            await session.commit()
        return SeededUser(user.id, user.name, key, user.token.token)

    async def room(self, owner: SeededUser, *members: SeededUser) -> str:
        async with self.sessions() as session:
            room = await db.create_room(session, room_name=unique_name("room"), creator_id=owner.id)
            for other in members:
                await db.add_user_to_room(session, user_id=other.id, room_id=room.id)
            await session.commit()
        return room.id

    async def messages(self, author: SeededUser, room: str, texts: list[str]) -> None:
        async with self.sessions() as session:
            for text in texts:
                await db.create_chat_message(session, author_id=author.id, room_id=room, content=text)
            await session.commit()


@pytest.fixture
async def own_server(live_server: LiveServer, tmp_path: Path) -> AsyncIterator[OwnServer]:
    env = server_env(tmp_path, SECRET_KEY=live_server.env["SECRET_KEY"])
    server = await asyncio.to_thread(LiveServer(tmp_path, env).start)
    engine = create_async_engine(env["DB_URI"])
    try:
        yield OwnServer(server, async_sessionmaker(engine, expire_on_commit=False))
    finally:
        await engine.dispose()
        await asyncio.to_thread(server.stop)


async def test_reconnect_after_server_restart_shows_missed_messages_once(
    own_server: OwnServer, browse: Browsing
) -> None:
    # (own_server is set up first, so it is stopped only after the pages are closed.)
    server = own_server.server
    browse.base_url = server.http_url
    ada, bob = await own_server.user(), await own_server.user()
    room = await own_server.room(ada, bob)
    page_a, page_b = await asyncio.gather(
        browse.user_page(ada, room, label="A"), browse.user_page(bob, room, label="B")
    )
    for page in (page_a, page_b):
        browse.watch(page).allow_errors(*NETWORK_DOWN_ERRORS)
    await send_message(page_a, "before the restart")
    await expect(contents(page_b).last).to_have_text("before the restart")

    # The server goes away: both pages say so.
    port = server.port
    await asyncio.to_thread(server.stop)
    for page in (page_a, page_b):
        await expect(page.locator("#connection-banner")).to_be_visible()
        await expect(page.locator("#connection-banner")).to_have_attribute("data-state", "reconnecting")
        await expect(page.locator("#connection-banner-text")).to_have_text("Reconnecting…")

    # Messages are stored while the pages are disconnected (as another server process
    # would), then the server comes back on the same port and more arrive right away,
    # possibly before the pages have reconnected.
    missed = [f"while you were away {i:03d}" for i in range(MISSED)]
    await own_server.messages(bob, room, missed)
    await asyncio.to_thread(server.start, port=port)
    sent_right_away = ["right after the restart 1", "right after the restart 2"]
    async with ws_connect(server.ws_url, f"/room/{room}/chat-message", bob) as ws:
        for text in sent_right_away:
            await ws.send(json.dumps({"content": text}))
            await asyncio.wait_for(ws.recv(), 5)  # stored and published

    expected = [f"{bob.name} has joined the chat.", "before the restart", *missed, *sent_right_away]
    for page in (page_a, page_b):
        await expect(page.locator("#connection-banner")).to_be_hidden(timeout=RECONNECT_TIMEOUT_MS)
        await expect(contents(page)).to_have_count(len(expected))
        assert await contents(page).all_text_contents() == expected
        assert len(set(await message_ids(page))) == len(expected)

    # Live again, both ways, and still nothing doubled.
    await expect(member(page_a, bob.id)).to_have_attribute("data-status", "Online")
    await expect(member(page_b, ada.id)).to_have_attribute("data-status", "Online")
    await send_message(page_b, "after the restart")
    await send_message(page_a, "welcome back")
    expected += ["after the restart", "welcome back"]
    for page in (page_a, page_b):
        await expect(contents(page)).to_have_text(expected)
