"""Rooms: joining with a share link (logged in or not) or a pasted key."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from tests.support import unique_name
from tests.support.browser import Browsing, contents, member, send_message, session_of, wait_live
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e


async def test_share_link_joins_the_room(browse: Browsing, seed: Seeder) -> None:
    owner, guest = await seed.user(unique_name("host")), await seed.user(unique_name("guest"))
    room_name = unique_name("Book club")
    room = await seed.room(owner, name=room_name)
    page_owner = await browse.user_page(owner, room, label="owner")

    share = page_owner.locator("#share-link")
    link = await share.get_attribute("data-share-url")
    assert link is not None
    assert link.startswith(f"{browse.base_url}/chat/")
    assert parse_qs(urlsplit(link).query) == {"room": [room]}
    # Copying works on this page (http://127.0.0.1 is a secure context), or the link is shown.
    await share.click()
    await expect(page_owner.locator("#toasts [data-testid=toast]").last).to_contain_text("link")

    # The guest is logged in elsewhere and opens the link: joined and in the room at once.
    page_guest = await browse.user_page(guest, label="guest")
    await page_guest.goto(link)
    await wait_live(page_guest, room, guest)
    await expect(page_guest.locator("#room-title")).to_have_text(room_name)
    await expect(page_guest.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_have_count(1)
    await expect(page_guest).to_have_url(f"{browse.base_url}/chat/")  # the invite is used up

    # Everyone in the room sees the join, live.
    joined = f"{guest.name} has joined the chat."
    await expect(contents(page_owner).last).to_have_text(joined)
    await expect(contents(page_guest).last).to_have_text(joined)
    await expect(member(page_owner, guest.id)).to_have_attribute("data-status", "Online")
    await send_message(page_guest, "thanks for the invite")
    await expect(contents(page_owner).last).to_have_text("thanks for the invite")

    # Members who open the link again are simply taken to the room.
    await page_guest.goto(f"{browse.base_url}/chat/")
    await wait_live(page_guest, room, guest)
    await page_owner.goto(link)
    await wait_live(page_owner, room, owner)
    await expect(contents(page_owner).last).to_have_text("thanks for the invite")


async def test_share_link_when_signed_out_joins_after_signing_up(browse: Browsing, seed: Seeder) -> None:
    owner = await seed.user()
    room = await seed.room(owner)
    page = await browse.page("newcomer")
    await page.goto(f"{browse.base_url}/chat/?room={room}")
    await expect(page.locator("#invite-note")).to_be_visible()

    name = unique_name("newcomer")
    await page.fill("#signup-name", name)
    await page.click("#signup-submit")
    await page.click("#login-key-done")
    user_id = (await session_of(page))["user_id"]
    await expect(page.locator("#room-view")).to_have_attribute("data-room-hash", room)
    await expect(member(page, user_id)).to_have_attribute("data-status", "Online")
    await expect(contents(page)).to_have_text([f"{name} has joined the chat."])
    await expect(page.locator("#invite-note")).to_be_hidden()


async def test_join_by_pasting_a_key_or_link(browse: Browsing, seed: Seeder) -> None:
    owner, guest = await seed.user(), await seed.user()
    first, second = await seed.room(owner), await seed.room(owner)
    page = await browse.user_page(guest, label="guest")
    await expect(page.locator("#no-room")).to_be_visible()
    await expect(page.locator("#joined-rooms [data-testid=room]")).to_have_count(0)

    await page.fill("#room-join-hash", f"  {first}  ")
    await page.click("#room-join-submit")
    await wait_live(page, first, guest)

    await page.fill("#room-join-hash", f"{browse.base_url}/chat/?room={second}")
    await page.click("#room-join-submit")
    await wait_live(page, second, guest)
    await expect(page.locator("#joined-rooms [data-testid=room]")).to_have_count(2)
    await expect(page.locator("#owned-rooms [data-testid=room]")).to_have_count(0)
    await expect(page.locator(f'#joined-rooms [data-room-hash="{second}"]')).to_have_attribute(
        "aria-current", "true"
    )

    # Joining again just opens the room (without a refused request); an unknown key is explained.
    await page.fill("#room-join-hash", first)
    await page.click("#room-join-submit")
    await wait_live(page, first, guest)
    assert browse.watch(page).unexpected_errors() == []
    browse.watch(page).allow_errors(r"status of 400")  # Chromium logs the refused request
    await page.fill("#room-join-hash", "no-such-room-" + unique_name())
    await page.click("#room-join-submit")
    await expect(page.locator("#room-join-reason")).not_to_be_empty()
    await expect(page.locator("#room-view")).to_have_attribute("data-room-hash", first)
