"""Moderation in the browser: a removed member's page says so and stops reconnecting."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.browser import Browsing, wait_live
from tests.support.http import bearer
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("action", "verb"), [("ban", "banned"), ("kick", "removed")])
async def test_a_removed_member_sees_why_and_the_room_is_gone(
    browse: Browsing, seed: Seeder, api, action: str, verb: str
) -> None:
    owner, member = await seed.user(), await seed.user()
    room_name = "Python KC"
    room = await seed.room(owner, member, name=f"{room_name} {action}")
    page = await browse.user_page(member, room, label="member")
    await wait_live(page, room, member)

    response = await api.post(f"/room/{room}/members/{member.id}/{action}", json={}, headers=bearer(owner))
    assert response.status_code == 204

    notice = page.locator("[data-testid=room-removed]")
    await expect(notice).to_have_text(f"You were {verb} from {room_name} {action} by {owner.name}")
    await expect(page.locator("#room-open")).to_be_hidden()
    await expect(page.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_have_count(0)
    # No reconnect loop: nothing tries the room's sockets again.
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    await page.wait_for_timeout(1500)
    assert [url for url in opened if room in url] == []
