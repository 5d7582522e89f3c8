"""Moderation in the browser: removed members see why; deletions, renames and roles show live.

The actions here go through the HTTP API (as another client, e.g. a moderator's other device,
would do them), so what is checked is how every open page follows the room-events socket.
The same actions taken through the UI (member menu, Delete, room settings) are in
test_moderation_ui.py.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.browser import Browsing, contents, member, send_message, wait_live
from tests.support.http import bearer
from tests.support.seeding import Seeder, stored_messages

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
    # A request about the room that reaches the server just after the removal (the page
    # marking what it has read, say) is refused, rightly, and Chromium logs the refusal.
    browse.watch(page).allow_errors(r"status of 403")

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


async def test_deletions_renames_and_roles_reach_every_open_view(browse: Browsing, seed: Seeder, api) -> None:
    owner, moderator, reader = await seed.user(), await seed.user(), await seed.user()
    room = await seed.room(owner, moderator, reader)
    pages = {}
    for who, user in (("owner", owner), ("member", reader)):
        pages[who] = await browse.user_page(user, room, label=who)
        await wait_live(pages[who], room, user)

    promoted = await api.put(
        f"/room/{room}/members/{moderator.id}/role", json={"role": "moderator"}, headers=bearer(owner)
    )
    assert promoted.status_code == 204
    for page in pages.values():
        await expect(member_role(page, moderator.id)).to_have_text("moderator")
        await expect(member_role(page, owner.id)).to_have_text("owner")
        await expect(contents(page).last).to_have_text(f"{moderator.name} is now a moderator.")

    await send_message(pages["member"], "something regrettable")
    for page in pages.values():
        await expect(contents(page).last).to_have_text("something regrettable")
    [message_id] = [
        message.id for message in await stored_messages(room) if message.content == "something regrettable"
    ]
    deleted = await api.delete(f"/room/{room}/messages/{message_id}", headers=bearer(moderator))
    assert deleted.status_code == 204
    for page in pages.values():
        await expect(page.locator(f'#message-list [data-message-id="{message_id}"]')).to_have_count(0)
        await expect(contents(page).last).to_have_text(f"{moderator.name} is now a moderator.")

    renamed = await api.patch(f"/room/{room}", json={"room_name": "Renamed room"}, headers=bearer(owner))
    assert renamed.status_code == 200
    for page in pages.values():
        await expect(page.locator("#room-title")).to_have_text("Renamed room")
        await expect(page.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_contain_text("Renamed room")


def member_role(page, user_id: int):
    return member(page, user_id).locator("[data-testid=member-role]")
