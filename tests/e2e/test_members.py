"""The member list: live Online / Offline status as people come and go."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import WebSocketRoute, expect

from pykcworkshop.chat import db
from tests.support.browser import Browsing, ChatPair, log_in, member
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e


async def test_member_goes_offline_when_the_other_closes_the_page(pair: ChatPair) -> None:
    a = pair.page_a
    await expect(a.locator("#members [data-testid=member]")).to_have_count(2)
    await expect(a.locator("#members-heading")).to_have_text("Members (2 of 2 online)")
    await expect(member(a, pair.a.id)).to_have_attribute("data-status", "Online")

    await pair.page_b.close()
    bob = member(a, pair.b.id)
    await expect(bob).to_have_attribute("data-status", "Offline")
    await expect(bob.locator("[data-testid=member-status]")).to_have_text("Offline")
    await expect(a.locator("#members-heading")).to_have_text("Members (1 of 2 online)")


async def test_member_who_opens_the_room_later_sees_and_is_seen_online(
    browse: Browsing, seed: Seeder, pair: ChatPair
) -> None:
    carol = await seed.user()
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=carol.id, room_id=pair.room)
        await session.commit()

    page_c = await browse.user_page(carol, pair.room, label="C")
    # Carol learns the others' status by asking (client-sync status-request)...
    await expect(member(page_c, pair.a.id)).to_have_attribute("data-status", "Online")
    await expect(member(page_c, pair.b.id)).to_have_attribute("data-status", "Online")
    await expect(page_c.locator("#members-heading")).to_have_text("Members (3 of 3 online)")
    # ...and they learn about her from her own announcement.
    for page in (pair.page_a, pair.page_b):
        await expect(member(page, carol.id)).to_have_attribute("data-status", "Online")
        await expect(page.locator("#members-heading")).to_have_text("Members (3 of 3 online)")


async def test_member_whose_sync_socket_connects_late_is_still_seen_online(
    browse: Browsing, seed: Seeder
) -> None:
    """Ada's status socket opens, then Bob connects, and only then Ada's client-sync socket.

    Bob's "status-request" cannot reach Ada, and Ada's first "Online" went out before Bob
    listened: Ada must say it again once all her sockets are up.
    """
    ada, bob = await seed.user(), await seed.user()
    room = await seed.room(ada, bob)
    page_a = await browse.page("A")
    sync_may_connect = asyncio.Event()

    async def hold_back(ws: WebSocketRoute) -> None:
        await sync_may_connect.wait()
        ws.connect_to_server()

    await page_a.route_web_socket(re.compile(r"/client-sync$"), hold_back)
    await log_in(page_a, browse.base_url, ada)
    await page_a.locator(f'#joined-rooms [data-room-hash="{room}"]').click()
    await expect(member(page_a, ada.id)).to_have_attribute("data-status", "Online")

    page_b = await browse.user_page(bob, room, label="B")
    await expect(member(page_a, bob.id)).to_have_attribute("data-status", "Online")
    sync_may_connect.set()
    await expect(member(page_b, ada.id)).to_have_attribute("data-status", "Online")
