"""Layout: a phone-width smoke test (drawers), and the README screenshot script."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.support import unique_name
from tests.support.browser import DESKTOP, PHONE, Browsing, contents, member, send_message, wait_live
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


async def horizontal_overflow(page: Page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


async def test_phone_width_is_usable_and_the_drawers_toggle(browse: Browsing, seed: Seeder) -> None:
    me, friend = await seed.user(), await seed.user()
    room = await seed.room(friend, me)
    page = await browse.user_page(me, label="phone", viewport=PHONE, is_mobile=True, has_touch=True)
    sidebar, people = page.locator("#sidebar"), page.locator("#people")
    rooms_button, members_button = page.locator("#sidebar-toggle"), page.locator("#members-toggle")

    # No room open: both drawers closed, their buttons in the header, nothing wider than the screen.
    await expect(page.locator("#no-room")).to_be_visible()
    await expect(rooms_button).to_be_visible()
    await expect(members_button).to_be_visible()
    await expect(sidebar).to_have_attribute("data-open", "false")
    await expect(page.locator("#room-create-name")).not_to_be_in_viewport()
    assert await horizontal_overflow(page) <= 0

    # The rooms drawer opens, and picking a room closes it again.
    await rooms_button.click()
    await expect(sidebar).to_have_attribute("data-open", "true")
    await expect(rooms_button).to_have_attribute("aria-expanded", "true")
    room_button = page.locator(f'#joined-rooms [data-room-hash="{room}"]')
    await expect(room_button).to_be_in_viewport()
    await room_button.click()
    await wait_live(page, room, me)
    await expect(sidebar).to_have_attribute("data-open", "false")
    await expect(rooms_button).to_have_attribute("aria-expanded", "false")
    await expect(room_button).not_to_be_in_viewport()

    # The room is usable: composer on screen, sending works.
    await expect(page.locator("#message-input")).to_be_in_viewport()
    await expect(page.locator("#message-send")).to_be_in_viewport()
    await page.locator("#message-input").tap()
    await send_message(page, "hello from my phone")
    await expect(contents(page).last).to_have_text("hello from my phone")
    await expect(contents(page).last).to_be_in_viewport()
    assert await horizontal_overflow(page) <= 0

    # The members drawer opens from the header and closes with Escape.
    await members_button.click()
    await expect(people).to_have_attribute("data-open", "true")
    await expect(members_button).to_have_attribute("aria-expanded", "true")
    await expect(member(page, me.id)).to_be_in_viewport()
    await expect(member(page, friend.id)).to_be_in_viewport()
    await page.keyboard.press("Escape")
    await expect(people).to_have_attribute("data-open", "false")
    await expect(member(page, me.id)).not_to_be_in_viewport()

    # The toggle closes what it opened, and only one drawer is open at a time.
    await rooms_button.click()
    await expect(sidebar).to_have_attribute("data-open", "true")
    await members_button.click()
    await expect(people).to_have_attribute("data-open", "true")
    await expect(sidebar).to_have_attribute("data-open", "false")
    await members_button.click()
    await expect(people).to_have_attribute("data-open", "false")

    # On a laptop screen both columns are always there and the toggles go away.
    await page.set_viewport_size(DESKTOP)
    await expect(rooms_button).to_be_hidden()
    await expect(members_button).to_be_hidden()
    await expect(room_button).to_be_in_viewport()
    await expect(member(page, friend.id)).to_be_in_viewport()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


async def test_screenshot_script_captures_the_chat_view(
    browse: Browsing, seed: Seeder, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("take_screenshot", ROOT / "docs" / "take_screenshot.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    output, phone = tmp_path / "screenshot-chat.png", tmp_path / "screenshot-chat-phone.png"
    people = (unique_name("Ada"), unique_name("Grace"), unique_name("Linus"))
    await script.capture(
        browse.browser,
        browse.base_url,
        output,
        phone_output=phone,
        people=people,
        room_name=unique_name("Workshop"),
    )
    assert png_size(output) == (1280, 800) and png_size(phone) == (390, 844)
    assert output.stat().st_size < 300_000
    committed = ROOT / "docs" / "screenshot-chat.png"
    assert png_size(committed) == (1280, 800) and committed.stat().st_size < 300_000
    committed_phone = ROOT / "docs" / "screenshot-chat-phone.png"
    assert png_size(committed_phone) == (390, 844) and committed_phone.stat().st_size < 300_000
