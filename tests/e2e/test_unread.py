"""Read positions in the browser: the sidebar's unread and mention counts and the title's
total, the "New messages" divider when a room opens, reading that advances the position,
and a second page (another device) of the same user following live."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from pykcworkshop.utils import now
from tests.support.browser import PHONE, Browsing, messages, open_room
from tests.support.http import bearer
from tests.support.seeding import SeededUser, Seeder, seed_messages
from tests.support.websockets import recv_json, ws_connect

pytestmark = pytest.mark.e2e


def room_button(page: Page, room: str):
    return page.locator(f'#joined-rooms [data-testid=room][data-room-hash="{room}"]')


def unread_badge(page: Page, room: str):
    return room_button(page, room).locator("[data-testid=room-unread]")


def mention_badge(page: Page, room: str):
    return room_button(page, room).locator("[data-testid=room-mentions]")


async def say(ws_url: str, room: str, author: SeededUser, *texts: str) -> list[int]:
    """Send messages through the chat-message socket, as a client would; return their ids."""
    ids = []
    async with ws_connect(ws_url, f"/room/{room}/chat-message", author) as ws:
        for text in texts:
            await ws.send(json.dumps({"content": text}))
            ids.append((await recv_json(ws))["id"])
    return ids


async def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    # PYKC_E2E_SCREENSHOTS=<dir> keeps them (for notes); otherwise they go to tmp_path.
    folder = Path(os.environ.get("PYKC_E2E_SCREENSHOTS") or tmp_path)
    await page.screenshot(path=str(folder / name))


async def test_counts_divider_and_a_second_page_following_live(
    browse: Browsing, seed: Seeder, ws_url: str, tmp_path: Path
):
    ada, bob = await seed.user(), await seed.user()
    lounge = await seed.room(ada, bob, name="lounge")
    quiet = await seed.room(ada, bob, name="quiet")
    laptop = await browse.user_page(bob, quiet, label="laptop")
    phone = await browse.user_page(bob, label="phone", viewport=PHONE)
    for page in (laptop, phone):
        await expect(room_button(page, lounge)).to_be_visible(visible=page is laptop)
        await expect(unread_badge(page, lounge)).to_be_hidden()

    await say(ws_url, lounge, ada, "first news", f"@{bob.name} look at this", "third")
    for page in (laptop, phone):
        await expect(unread_badge(page, lounge)).to_have_text("3")
        await expect(mention_badge(page, lounge)).to_have_text("@1")
        await expect(room_button(page, lounge)).to_have_attribute("aria-label", "lounge, 3 unread, 1 mention")
        await expect(page).to_have_title(re.compile(r"^\(3\) "))
    # The open room, read at the bottom, counts nothing.
    await say(ws_url, quiet, ada, "in the open room")
    await expect(unread_badge(phone, quiet)).to_have_text("1")
    await expect(unread_badge(laptop, quiet)).to_be_hidden()
    await expect(unread_badge(phone, quiet)).to_be_hidden()
    # Nothing was unread when it opened: no divider for what arrives while reading.
    await expect(laptop.locator("#message-list [data-testid=unread-divider]")).to_have_count(0)
    await screenshot(laptop, "reads-sidebar-laptop.png", tmp_path)
    await phone.click("#sidebar-toggle")
    await screenshot(phone, "reads-sidebar-phone.png", tmp_path)
    await phone.keyboard.press("Escape")

    # Opening the room: the divider above the first unread message; all of it fits, so it is read.
    await open_room(laptop, lounge, bob)
    divider = laptop.locator("#message-list [data-testid=unread-divider]")
    await expect(divider).to_have_text("New messages")
    first_unread = divider.locator("xpath=following-sibling::li[@data-testid='message'][1]")
    await expect(first_unread.locator("[data-testid=message-content]")).to_have_text("first news")
    await expect(unread_badge(laptop, lounge)).to_be_hidden()
    # …and the other device follows.
    await expect(unread_badge(phone, lounge)).to_be_hidden()
    await expect(mention_badge(phone, lounge)).to_be_hidden()
    await expect(phone).to_have_title("pykcworkshop chat")
    await expect(laptop).to_have_title(re.compile(r"^lounge"))


async def test_a_long_room_opens_at_the_first_unread_and_reading_on_clears_it(
    browse: Browsing, seed: Seeder, api, ws_url: str
):
    ada, bob = await seed.user(), await seed.user()
    room = await seed.room(ada, bob)
    ids = await seed_messages(room, ada, [(f"message {i}", now()) for i in range(80)])
    response = await api.put(f"/room/{room}/read", json={"message_id": ids[39]}, headers=bearer(bob))
    assert response.json()["unread"] == 40
    page = await browse.user_page(bob)
    await expect(unread_badge(page, room)).to_have_text("40")

    await open_room(page, room, bob)
    divider = page.locator("#message-list [data-testid=unread-divider]")
    await expect(divider).to_be_in_viewport()
    following = divider.locator("xpath=following-sibling::li[@data-testid='message'][1]")
    await expect(following).to_have_attribute("data-message-id", str(ids[40]))
    # The end is not in view yet: still unread.
    await expect(messages(page).last).not_to_be_in_viewport()
    await expect(unread_badge(page, room)).to_have_text("40")
    await page.locator("#messages").evaluate("s => { s.scrollTop = s.scrollHeight; }")
    await expect(unread_badge(page, room)).to_be_hidden()
    counts = await api.get("/user/rooms/unread", headers=bearer(bob))
    assert {row["room_hash"]: row for row in counts.json()}[room]["last_read_id"] == ids[-1]


async def test_a_hidden_tab_does_not_read(browse: Browsing, seed: Seeder, ws_url: str, api):
    ada, bob = await seed.user(), await seed.user()
    room = await seed.room(ada, bob)
    page = await browse.user_page(bob, room)
    await page.evaluate(
        """() => {
            window.__visibility = Object.getOwnPropertyDescriptor(Document.prototype, "visibilityState");
            Object.defineProperty(Document.prototype, "visibilityState",
                                  { configurable: true, get: () => "hidden" });
        }"""
    )
    await say(ws_url, room, ada, "while away")
    await expect(messages(page).last).to_contain_text("while away")
    await expect(unread_badge(page, room)).to_have_text("1")
    await page.evaluate(
        """() => {
            Object.defineProperty(Document.prototype, "visibilityState", window.__visibility);
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    await expect(unread_badge(page, room)).to_be_hidden()
