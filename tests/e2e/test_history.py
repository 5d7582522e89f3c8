"""The conversation's history: paging back by scrolling up, and the "new messages" pill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from pykcworkshop.chat import db
from tests.support.browser import Browsing, contents, message_ids, messages, send_message
from tests.support.seeding import SeededUser, Seeder

pytestmark = pytest.mark.e2e

TOTAL = 120  # more than two pages of 50

#: Where a message is drawn relative to the top of the scrolling box, in CSS pixels.
OFFSET = """([id]) => {
  const scroller = document.getElementById("messages");
  const node = document.querySelector(`#message-list [data-message-id="${id}"]`);
  return node.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
}"""

#: Scroll to the very top and report where the message was drawn right then.
SCROLL_TOP_AND_MEASURE = """([id]) => {
  const scroller = document.getElementById("messages");
  scroller.scrollTop = 0;
  const node = document.querySelector(`#message-list [data-message-id="${id}"]`);
  return node.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
}"""


async def seed_messages(room: str, author: SeededUser, count: int) -> list[str]:
    """Store ``count`` messages a second apart, ending a minute ago; return their contents."""
    start = datetime.now(UTC) - timedelta(seconds=count + 60)
    texts = [f"history message {i:03d}" for i in range(count)]
    async with db.get_session() as session:
        for i, text in enumerate(texts):
            await db.create_chat_message(
                session,
                author_id=author.id,
                room_id=room,
                content=text,
                timestamp=start + timedelta(seconds=i),
            )
        await session.commit()
    return texts


async def distance_from_bottom(page: Page) -> float:
    return await page.evaluate(
        "(() => { const s = document.getElementById('messages'); return s.scrollHeight - s.scrollTop - s.clientHeight; })()"
    )


async def test_scrolling_up_loads_older_messages_and_keeps_the_position(
    browse: Browsing, seed: Seeder
) -> None:
    owner = await seed.user()
    room = await seed.room(owner)
    texts = await seed_messages(room, owner, TOTAL)
    page = await browse.user_page(owner, room)

    # The newest page, scrolled to the bottom; the beginning is not reached yet.
    await expect(messages(page)).to_have_count(50)
    await expect(contents(page).last).to_have_text(texts[-1])
    await expect(page.locator("#history-start")).to_be_hidden()
    assert await distance_from_bottom(page) <= 2

    # Scroll to the top: the next page appears above, and what was at the top stays put.
    first_id = (await message_ids(page))[0]
    before = await page.evaluate(SCROLL_TOP_AND_MEASURE, [first_id])
    await expect(messages(page)).to_have_count(100)
    after = await page.evaluate(OFFSET, [first_id])
    assert abs(after - before) <= 2, (before, after)
    assert await page.evaluate("document.getElementById('messages').scrollTop") > 200

    # Once more: the rest, and the marker at the beginning of the conversation.
    first_id = (await message_ids(page))[0]
    before = await page.evaluate(SCROLL_TOP_AND_MEASURE, [first_id])
    await expect(messages(page)).to_have_count(TOTAL)
    await expect(page.locator("#history-start")).to_be_visible()
    await expect(page.locator("#history-start")).to_have_text("This is the beginning of the conversation")
    after = await page.evaluate(OFFSET, [first_id])
    assert abs(after - before) <= 2, (before, after)

    # In order, nothing twice, nothing missing.
    assert await contents(page).all_text_contents() == texts
    ids = await message_ids(page)
    assert len(set(ids)) == TOTAL


async def test_new_messages_pill_while_reading_older_messages(browse: Browsing, seed: Seeder) -> None:
    reader, writer = await seed.user(), await seed.user()
    room = await seed.room(reader, writer)
    await seed_messages(room, reader, 40)
    page, other = await browse.user_page(reader, room), await browse.user_page(writer, room)
    await expect(contents(page).last).to_have_text(f"{writer.name} has joined the chat.")

    await page.evaluate("document.getElementById('messages').scrollTop = 0")
    pill = page.locator("#new-messages-pill")
    await send_message(other, "look down here")
    await expect(pill).to_be_visible()
    await expect(pill).to_have_text("1 new message ↓")
    await send_message(other, "and here")
    await expect(pill).to_have_text("2 new messages ↓")
    assert await distance_from_bottom(page) > 100  # the reader was not yanked down

    await pill.click()
    await expect(pill).to_be_hidden()
    await expect(contents(page).last).to_have_text("and here")
    await expect(contents(page).last).to_be_in_viewport()
    assert await distance_from_bottom(page) <= 2

    # At the bottom, new messages simply follow.
    await send_message(other, "following along")
    await expect(contents(page).last).to_have_text("following along")
    await expect(contents(page).last).to_be_in_viewport()
    await expect(pill).to_be_hidden()
