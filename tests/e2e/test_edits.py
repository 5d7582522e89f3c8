"""Editing your own messages in the browser: inline editor, "(edited)" live on every page, after reload."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.support.browser import Browsing, messages, send_message, wait_live
from tests.support.http import bearer
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e


def message_with(page, text: str):
    return messages(page).filter(has=page.locator("[data-testid=message-content]", has_text=text))


async def test_the_author_edits_and_every_open_page_shows_it(browse: Browsing, seed: Seeder, api) -> None:
    author, reader = await seed.user(), await seed.user()
    room = await seed.room(author, reader)
    pages = {}
    for who, user in (("author", author), ("reader", reader)):
        pages[who] = await browse.user_page(user, room, label=who)
        await wait_live(pages[who], room, user)
    await send_message(pages["reader"], "not yours to edit")
    await send_message(pages["author"], "teh first draft")
    page, other = pages["author"], pages["reader"]
    await expect(message_with(other, "teh first draft")).to_have_count(1)

    # Someone else's message has no Edit button, on either page.
    await expect(message_with(page, "not yours").locator("[data-testid=message-edit]")).to_have_count(0)
    await expect(message_with(other, "teh first").locator("[data-testid=message-edit]")).to_have_count(0)

    # Keyboard only: focus Edit, Enter opens the editor; Escape cancels.
    mine = message_with(page, "teh first draft")
    edit = mine.locator("[data-testid=message-edit]")
    await edit.focus()
    await page.keyboard.press("Enter")
    editor = page.locator("[data-testid=message-editor]")
    await expect(editor).to_be_focused()
    await expect(editor).to_have_value("teh first draft")
    await editor.fill("never sent")
    await page.keyboard.press("Escape")
    await expect(editor).to_have_count(0)
    await expect(edit).to_be_focused()
    await expect(mine.locator("[data-testid=message-content]")).to_have_text("teh first draft")

    # An empty text is refused with a toast, and the editor stays open.
    await page.keyboard.press("Enter")
    await editor.fill("   ")
    await editor.press("Enter")
    await expect(page.locator("[data-testid=toast][data-kind=error]")).to_contain_text("delete it instead")
    await expect(editor).to_be_visible()

    await editor.fill("the first draft, fixed")
    await editor.press("Enter")
    await expect(editor).to_have_count(0)
    for shown in (page, other):
        edited = message_with(shown, "the first draft, fixed")
        await expect(edited).to_have_count(1)
        await expect(edited.locator("[data-testid=message-edited]")).to_have_text("(edited)")
        await expect(edited.locator("[data-testid=message-edited]")).to_have_attribute(
            "title", re.compile(r"^Edited .+")
        )
        await expect(message_with(shown, "teh first draft")).to_have_count(0)
    # The reader's own message was not touched.
    await expect(
        message_with(other, "not yours to edit").locator("[data-testid=message-edited]")
    ).to_have_count(0)

    # After a reload, history shows the new text and the mark.
    await other.reload()
    await wait_live(other, room, reader)
    reloaded = message_with(other, "the first draft, fixed")
    await expect(reloaded.locator("[data-testid=message-edited]")).to_have_text("(edited)")
    await expect(
        message_with(other, "not yours to edit").locator("[data-testid=message-edited]")
    ).to_have_count(0)


async def test_a_refused_edit_shows_the_servers_reason(browse: Browsing, seed: Seeder, api) -> None:
    owner, author = await seed.user(), await seed.user()
    room = await seed.room(owner, author)
    page = await browse.user_page(author, room, label="author")
    browse.watch(page).allow_errors(r"status of 403")  # Chromium logs the refused request
    await wait_live(page, room, author)
    await send_message(page, "said before the mute")
    muted = await api.post(
        f"/room/{room}/members/{author.id}/mute", json={"minutes": 5}, headers=bearer(owner)
    )
    assert muted.status_code == 200
    mine = message_with(page, "said before the mute")
    await mine.locator("[data-testid=message-edit]").click()
    editor = page.locator("[data-testid=message-editor]")
    await editor.fill("said while muted")
    await editor.press("Enter")
    await expect(page.locator("[data-testid=toast][data-kind=error]")).to_contain_text("you are muted")
    await expect(editor).to_have_value("said while muted")
