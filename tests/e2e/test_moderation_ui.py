"""Moderation through its UI: the member menu, Delete on messages and the room settings dialog.

Every action here is a click (or a key press) in the page, never a call to the HTTP API;
what is checked is what every open page shows afterwards.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Locator, Page, expect

from pykcworkshop.chat.tokens import generate_csrf
from tests.support import API
from tests.support.browser import Browsing, contents, member, messages, send_message, wait_live
from tests.support.seeding import SeededUser, Seeder

pytestmark = pytest.mark.e2e


def actions_button(page: Page, user: SeededUser) -> Locator:
    """The "Actions for <name>" button of ``user``'s entry in the member list."""
    return member(page, user.id).get_by_role("button", name=f"Actions for {user.name}")


async def member_action(page: Page, user: SeededUser, action: str) -> None:
    """Open ``user``'s menu and pick ``action`` (a data-action of the menu's items)."""
    await actions_button(page, user).click()
    await page.locator(f'#member-menu [data-testid=member-action][data-action="{action}"]').click()


def message_with(page: Page, text: str) -> Locator:
    return messages(page).filter(has=page.locator("[data-testid=message-content]", has_text=text))


async def confirm(page: Page) -> None:
    await expect(page.locator("#confirm-dialog")).to_be_visible()
    await page.click("#confirm-accept")
    await expect(page.locator("#confirm-dialog")).to_be_hidden()


async def open_settings(page: Page) -> None:
    await page.click("#room-settings")
    await expect(page.locator("#room-settings-dialog")).to_be_visible()


async def open_pages(browse: Browsing, room: str, **users: SeededUser) -> dict[str, Page]:
    pages = await asyncio.gather(*(browse.user_page(user, room, label=who) for who, user in users.items()))
    for page, user in zip(pages, users.values(), strict=True):
        await wait_live(page, room, user)
    return dict(zip(users, pages, strict=True))


async def test_owner_promotes_a_moderator_who_deletes_mutes_and_bans(browse: Browsing, seed: Seeder) -> None:
    owner, moderator, member_ = await seed.user(), await seed.user(), await seed.user()
    room_name = "Python KC"
    room = await seed.room(owner, moderator, member_, name=room_name)
    pages = await open_pages(browse, room, owner=owner, moderator=moderator, member=member_)
    # Before the promotion a member may act on nobody.
    await expect(pages["moderator"].locator("[data-testid=member-actions]")).to_have_count(0)

    await member_action(pages["owner"], moderator, "promote")
    for page in pages.values():
        await expect(member(page, moderator.id).locator("[data-testid=member-role]")).to_have_text(
            "moderator"
        )
    # A moderator may act on members only: not on the owner.
    mod_page = pages["moderator"]
    await expect(actions_button(mod_page, member_)).to_be_visible()
    await expect(member(mod_page, owner.id).locator("[data-testid=member-actions]")).to_have_count(0)

    await send_message(pages["member"], "something regrettable")
    regrettable = message_with(mod_page, "something regrettable")
    await expect(regrettable).to_have_count(1)
    # The author may delete it too.
    own = message_with(pages["member"], "something regrettable")
    await expect(own.get_by_role("button", name="Delete your message")).to_be_visible()
    await regrettable.get_by_role("button", name=f"Delete message from {member_.name}").click()
    await expect(mod_page.locator("#confirm-text")).to_contain_text("something regrettable")
    await confirm(mod_page)
    for page in pages.values():
        await expect(message_with(page, "something regrettable")).to_have_count(0)

    await member_action(mod_page, member_, "mute-5")
    await expect(mod_page.locator("[data-testid=toast][data-kind=success]").last).to_contain_text(
        f"{member_.name} is muted until"
    )
    member_page = pages["member"]
    await member_page.fill("#message-input", "can I still talk?")
    await member_page.click("#message-send")
    await expect(member_page.locator("[data-testid=toast][data-kind=error]").last).to_contain_text(
        "you are muted in this room until"
    )
    await expect(contents(pages["owner"]).filter(has_text="can I still talk?")).to_have_count(0)

    await member_action(mod_page, member_, "ban")
    await expect(mod_page.locator("#ban-title")).to_have_text(f"Ban {member_.name}")
    await mod_page.fill("#ban-reason", "spam")
    await expect(mod_page.locator("#ban-counter")).to_have_text("4 / 200")
    await mod_page.click("#ban-submit")
    await expect(member_page.locator("[data-testid=room-removed]")).to_have_text(
        f"You were banned from {room_name} by {moderator.name}: spam"
    )
    await expect(member_page.locator("#room-open")).to_be_hidden()
    for page in (pages["owner"], mod_page):
        await expect(member(page, member_.id)).to_have_count(0)

    # Rejoining with the room's key is refused, and the page says why.
    browse.watch(member_page).allow_errors("status of 403")
    await member_page.fill("#room-join-hash", room)
    await member_page.click("#room-join-submit")
    await expect(member_page.locator("#room-join-reason")).to_have_text("you are banned from this room")
    await expect(member_page.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_have_count(0)

    # The moderator sees the ban, with its reason, in the settings and lifts it.
    await open_settings(mod_page)
    ban = mod_page.locator(f'#room-bans [data-testid=ban][data-user-id="{member_.id}"]')
    await expect(ban).to_contain_text(f"Banned by {moderator.name}: spam")
    await expect(mod_page.locator("#room-rename-form")).to_be_hidden()
    await expect(mod_page.locator("#room-delete-section")).to_be_hidden()
    await ban.get_by_role("button", name=f"Unban {member_.name}").click()
    await expect(ban).to_have_count(0)
    await expect(mod_page.locator("#room-bans-empty")).to_be_visible()
    await member_page.fill("#room-join-hash", room)
    await member_page.click("#room-join-submit")
    await wait_live(member_page, room, member_)


async def test_owner_renames_the_room_in_the_settings(browse: Browsing, seed: Seeder) -> None:
    owner, reader = await seed.user(), await seed.user()
    room = await seed.room(owner, reader)
    pages = await open_pages(browse, room, owner=owner, member=reader)

    await open_settings(pages["member"])
    await expect(pages["member"].locator("#room-rename-form")).to_be_hidden()
    await expect(pages["member"].locator("#room-bans-section")).to_be_hidden()
    await pages["member"].keyboard.press("Escape")
    await expect(pages["member"].locator("#room-settings-dialog")).to_be_hidden()

    page = pages["owner"]
    browse.watch(page).allow_errors("status of 400")  # the refused name
    await open_settings(page)
    await page.fill("#room-rename-input", "\u200bbad")
    await page.click("#room-rename-submit")
    await expect(page.locator("#room-rename-reason")).to_contain_text("control or format characters")
    await page.fill("#room-rename-input", "Workshop lounge")
    await page.click("#room-rename-submit")
    for each in pages.values():
        await expect(each.locator("#room-title")).to_have_text("Workshop lounge")
        await expect(each.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_contain_text(
            "Workshop lounge"
        )
    await page.click("#room-settings-close")
    await expect(page.locator("#room-settings-dialog")).to_be_hidden()
    await expect(page.locator("#room-settings")).to_be_focused()


async def test_a_member_deletes_their_own_message_and_leaves(browse: Browsing, seed: Seeder) -> None:
    owner, leaver = await seed.user(), await seed.user()
    room_name = "Leaving soon"
    room = await seed.room(owner, leaver, name=room_name)
    pages = await open_pages(browse, room, owner=owner, member=leaver)
    await send_message(pages["owner"], "the owner's words")
    await send_message(pages["member"], "oops, wrong room")

    page = pages["member"]
    # Delete on their own message, not on the owner's.
    await expect(
        message_with(page, "the owner's words").locator("[data-testid=message-delete]")
    ).to_be_hidden()
    await message_with(page, "oops, wrong room").get_by_role("button", name="Delete your message").click()
    await confirm(page)
    for each in pages.values():
        await expect(message_with(each, "oops, wrong room")).to_have_count(0)
        await expect(message_with(each, "the owner's words")).to_have_count(1)

    # The owner cannot leave: the settings say why.
    await open_settings(pages["owner"])
    await expect(pages["owner"].locator("#room-leave")).to_be_disabled()
    await expect(pages["owner"].locator("#room-leave-note")).to_contain_text("Transfer ownership")

    await open_settings(page)
    await page.click("#room-leave")
    await expect(page.locator("#confirm-title")).to_have_text(f"Leave {room_name}?")
    await confirm(page)
    await expect(page.locator("#room-open")).to_be_hidden()
    await expect(page.locator("[data-testid=room-removed]")).to_be_hidden()
    await expect(page.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_have_count(0)
    await expect(page.locator("[data-testid=toast] .toast-text").last).to_have_text(f"You left {room_name}.")
    await expect(member(pages["owner"], leaver.id)).to_have_count(0)


async def read_position_recorded(page: Page, browse: Browsing, user: SeededUser, room: str) -> None:
    """Wait until ``user``'s read position in ``room`` is at its newest message."""
    url = f"{browse.base_url}{API}/user/rooms/unread"
    headers = {"Authorization": f"Bearer {user.token}", "X-CSRF-TOKEN": generate_csrf()}
    async with asyncio.timeout(10):
        while True:
            response = await page.request.get(url, headers=headers)
            row = next((row for row in await response.json() if row["room_hash"] == room), None)
            if row is not None and row["last_read_id"] == row["newest_id"]:
                return
            await asyncio.sleep(0.05)


async def test_owner_deletes_the_room_after_typing_its_name(browse: Browsing, seed: Seeder) -> None:
    owner, reader = await seed.user(), await seed.user()
    room_name = "Doomed room"
    room = await seed.room(owner, reader, name=room_name)
    pages = await open_pages(browse, room, owner=owner, member=reader)

    # A read the member's page sends while the room is being deleted is refused (400, as
    # the contract says), and the browser logs any refusal as an error: let it land first.
    await read_position_recorded(pages["member"], browse, reader, room)
    page = pages["owner"]
    await open_settings(page)
    await page.click("#room-delete")
    await expect(page.locator("#room-delete-name")).to_be_focused()
    await page.fill("#room-delete-name", "Doomed")
    await expect(page.locator("#room-delete-submit")).to_be_disabled()
    await page.fill("#room-delete-name", room_name)
    await page.click("#room-delete-submit")

    await expect(page.locator("#room-settings-dialog")).to_be_hidden()
    await expect(page.locator("#room-open")).to_be_hidden()
    await expect(page.locator(f'[data-testid=room][data-room-hash="{room}"]')).to_have_count(0)
    other = pages["member"]
    await expect(other.locator("[data-testid=room-removed]")).to_have_text(
        f"{room_name} was deleted by {owner.name}"
    )
    await expect(other.locator(f'[data-testid=room][data-room-hash="{room}"]')).to_have_count(0)


async def test_transfer_needs_confirmation_and_makes_the_owner_a_moderator(
    browse: Browsing, seed: Seeder
) -> None:
    owner, heir = await seed.user(), await seed.user()
    room = await seed.room(owner, heir)
    pages = await open_pages(browse, room, owner=owner, heir=heir)
    page = pages["owner"]

    await member_action(page, heir, "transfer")
    await page.click("#confirm-cancel")
    await expect(member(page, heir.id)).to_have_attribute("data-role", "member")
    await member_action(page, heir, "transfer")
    await confirm(page)
    for each in pages.values():
        await expect(member(each, heir.id)).to_have_attribute("data-role", "owner")
        await expect(member(each, owner.id)).to_have_attribute("data-role", "moderator")
    # The new owner may act on the old one; the old one no longer on the new owner.
    await expect(actions_button(pages["heir"], owner)).to_be_visible()
    await expect(member(page, heir.id).locator("[data-testid=member-actions]")).to_have_count(0)
    await expect(page.locator(f'#owned-rooms [data-room-hash="{room}"]')).to_have_count(0)
    await expect(pages["heir"].locator(f'#owned-rooms [data-room-hash="{room}"]')).to_have_count(1)


async def test_the_member_menu_and_dialogs_work_with_the_keyboard(browse: Browsing, seed: Seeder) -> None:
    owner, other = await seed.user(), await seed.user()
    room = await seed.room(owner, other)
    [page] = (await open_pages(browse, room, owner=owner)).values()
    await expect(member(page, other.id)).to_have_count(1)
    menu = page.locator("#member-menu")
    button = actions_button(page, other)

    await button.focus()
    await page.keyboard.press("Enter")
    await expect(menu).to_be_visible()
    await expect(menu).to_have_attribute("aria-label", f"Actions for {other.name}")
    await expect(button).to_have_attribute("aria-expanded", "true")
    items = menu.locator("[data-testid=member-action]")
    await expect(items.first).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(items.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")
    await expect(items.last).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(button).to_be_focused()
    await expect(button).to_have_attribute("aria-expanded", "false")

    # Ban from the keyboard, then Escape in the dialog: nothing happens, focus comes back.
    await page.keyboard.press("Space")
    await expect(menu).to_be_visible()
    await menu.locator('[data-action="ban"]').focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#ban-reason")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#ban-dialog")).to_be_hidden()
    await expect(button).to_be_focused()
    await expect(member(page, other.id)).to_have_count(1)

    # A click elsewhere closes the menu too.
    await button.click()
    await expect(menu).to_be_visible()
    await page.click("#room-title")
    await expect(menu).to_be_hidden()
