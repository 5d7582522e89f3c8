"""Reading comfort: links and code, day separators, grouping, full dates on hover, and a
message list that stays bounded however far back the reader scrolls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage
from tests.support.browser import Browsing, ChatPair, contents, message_ids, messages, send_message
from tests.support.seeding import SeededUser, Seeder

pytestmark = pytest.mark.e2e

#: The bound of the room's message list (MAX_RENDERED_MESSAGES in static/constants.mjs).
MAX_RENDERED = 300


async def store(room: str, *entries: tuple[SeededUser, str, datetime]) -> None:
    """Store messages (author, content, timestamp) through the data layer."""
    async with db.get_session() as session:
        for author, content, timestamp in entries:
            await db.create_chat_message(
                session, author_id=author.id, room_id=room, content=content, timestamp=timestamp
            )
        await session.commit()


async def read_all(reader: SeededUser, room: str) -> None:
    """Move the reader's read position to the room's newest message (the largest id)."""
    async with db.get_session() as session:
        (counts,) = await db.unread_counts(session, reader.id, room)
        newest = await session.scalar(select(func.max(ChatMessage.id)).where(ChatMessage.room_id == room))
        assert newest is not None
        await db.advance_read_position(session, user_id=reader.id, room_id=room, message_id=newest)
        await session.commit()
    assert counts.unread > 0


def midday_zone(now: datetime) -> str:
    """A fixed-offset time zone in which ``now`` is between 12:00 and 13:00 local time.

    The day separators depend on the local calendar day; with the browser in this zone,
    "an hour ago" is always today and "a day ago" always yesterday, whenever the test runs.
    """
    offset = 12 - now.hour  # hours to add to UTC
    return f"Etc/GMT{-offset:+d}"  # POSIX-style names: Etc/GMT-5 is UTC+5


def local(now: datetime, zone_hours: int) -> datetime:
    return now + timedelta(hours=zone_hours)


def day_label(day: datetime, today: datetime) -> str:
    """What the page calls a day before yesterday (en-US), as timeline.mjs's dayLabel."""
    if day.year == today.year:
        return f"{day:%A}, {day:%B} {day.day}"
    return f"{day:%B} {day.day}, {day.year}"


# ---- links and code ---------------------------------------------------------------------------

CODE = 'def greet(name):\n    if name:\n\t\treturn f"Hi {name}!"  # two tabs\n\n    return None'


async def test_links_inline_code_and_code_blocks(browse: Browsing, seed: Seeder) -> None:
    owner = await seed.user()
    room = await seed.room(owner)
    await store(
        room,
        (
            owner,
            "Docs at https://docs.python.org/3/library/asyncio.html, and (see "
            "https://en.wikipedia.org/wiki/Python_(programming_language)). Run `hatch run test` "
            "first.",
            datetime.now(UTC) - timedelta(minutes=2),
        ),
    )
    page = await browse.user_page(
        owner, room, permissions=["clipboard-read", "clipboard-write"], locale="en-US"
    )
    first = contents(page).first
    links = first.locator("a")
    await expect(links).to_have_count(2)
    await expect(links).to_have_text(
        [
            "https://docs.python.org/3/library/asyncio.html",
            "https://en.wikipedia.org/wiki/Python_(programming_language)",
        ]
    )
    for link in await links.all():
        await expect(link).to_have_attribute("target", "_blank")
        await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(links.first).to_have_attribute("href", "https://docs.python.org/3/library/asyncio.html")
    # Trailing punctuation stays text: the message reads exactly as it was written.
    await expect(first).to_have_text(
        "Docs at https://docs.python.org/3/library/asyncio.html, and (see "
        "https://en.wikipedia.org/wiki/Python_(programming_language)). Run hatch run test first."
    )
    inline = first.locator("[data-testid=inline-code]")
    await expect(inline).to_have_text("hatch run test")
    assert "mono" in await inline.evaluate("n => getComputedStyle(n).fontFamily")

    # A fenced block sent live, with its whitespace (spaces, tabs, a blank line) kept.
    await page.fill("#message-input", f"Like this:\n```python\n{CODE}\n```\nthen reload.")
    await page.click("#message-send")
    block = contents(page).last.locator("[data-testid=code-block]")
    await expect(block).to_have_attribute("data-lang", "python")
    code = block.locator("pre code")
    assert await code.evaluate("n => n.textContent") == CODE
    style = await block.locator("pre").evaluate(
        "n => ({ws: getComputedStyle(n).whiteSpace, font: getComputedStyle(n).fontFamily})"
    )
    assert style["ws"] == "pre" and "mono" in style["font"], style
    await expect(contents(page).last).to_have_text(f"Like this:{CODE}then reload.")

    # The copy button puts exactly the code on the clipboard.
    copy = block.locator("[data-testid=code-copy]")
    await expect(copy).to_have_attribute("aria-label", "Copy code")
    await copy.click()
    await expect(copy).to_have_attribute("data-copied", "true")
    await expect(copy).to_have_attribute("aria-label", "Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == CODE
    await expect(copy).not_to_have_attribute("data-copied", "true", timeout=4000)

    # A long line scrolls inside its block instead of widening the page (on a phone, too).
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.fill("#message-input", "```\n" + "x = 1  # " + "long " * 60 + "\n```")
    await page.click("#message-send")
    pre = contents(page).last.locator("pre")
    await expect(pre).to_be_visible()
    widths = await pre.evaluate(
        "n => ({scroll: n.scrollWidth, client: n.clientWidth, page: document.documentElement.scrollWidth})"
    )
    assert widths["scroll"] > widths["client"] and widths["page"] <= 390, widths


async def test_links_and_code_arrive_live_for_the_other_person(pair: ChatPair) -> None:
    text = "Try https://example.org/a_(b) or `pip install -e .`:\n```\n  indented\n```"
    await pair.page_a.fill("#message-input", text)
    await pair.page_a.click("#message-send")
    latest = contents(pair.page_b).last
    await expect(latest.locator("a")).to_have_attribute("href", "https://example.org/a_(b)")
    await expect(latest.locator("[data-testid=inline-code]")).to_have_text("pip install -e .")
    assert await latest.locator("pre code").evaluate("n => n.textContent") == "  indented"
    await expect(latest.locator("[data-testid=code-block]")).not_to_have_attribute(
        "data-lang", re.compile(".*")
    )


# ---- day separators, grouping, hover dates --------------------------------------------------------


async def test_day_separators_grouping_and_full_dates_on_hover(browse: Browsing, seed: Seeder) -> None:
    ada, bob = await seed.user(), await seed.user()
    room = await seed.room(ada, bob)
    now = datetime.now(UTC)
    zone_hours = 12 - now.hour
    today = local(now, zone_hours)
    three_days_ago = now - timedelta(days=3)
    yesterday = now - timedelta(days=1)
    hour_ago = now - timedelta(hours=1)
    await store(
        room,
        (ada, "three days ago", three_days_ago),
        (ada, "three days ago, a minute later", three_days_ago + timedelta(minutes=1)),
        (ada, "yesterday", yesterday),
        (ada, "an hour ago", hour_ago),
        (ada, "a minute later", hour_ago + timedelta(minutes=1)),
        (ada, "four minutes in", hour_ago + timedelta(minutes=4)),
        (bob, "Bob answers", hour_ago + timedelta(minutes=4, seconds=30)),
        (ada, "Ada again", hour_ago + timedelta(minutes=5)),
        (ada, "ten minutes after Ada again", hour_ago + timedelta(minutes=15)),
    )
    page = await browse.user_page(bob, room, locale="en-US", timezone_id=midday_zone(now))

    separators = page.locator("#message-list [data-testid=day-separator]")
    label = day_label(local(three_days_ago, zone_hours), today)
    await expect(separators).to_have_text([label, "Yesterday", "Today"])
    await expect(separators.first).to_have_attribute(
        "data-day", f"{local(three_days_ago, zone_hours):%Y-%m-%d}"
    )

    # Each separator sits right before the first message of its day.
    firsts = await page.evaluate(
        """() => [...document.querySelectorAll("#message-list [data-testid=day-separator]")]
                 .map(s => s.nextElementSibling.querySelector("[data-testid=message-content]").textContent)"""
    )
    assert firsts == ["three days ago", "yesterday", "an hour ago"]

    # Grouping: same author, same day, within five minutes of the group's first message.
    # (The system message about Bob joining, sent just now, comes last.)
    expected = {
        "three days ago": "false",
        "three days ago, a minute later": "true",
        "yesterday": "false",
        "an hour ago": "false",
        "a minute later": "true",
        "four minutes in": "true",
        "Bob answers": "false",
        "Ada again": "false",
        "ten minutes after Ada again": "false",
    }
    items = await messages(page).evaluate_all(
        """nodes => nodes.map(n => [n.querySelector("[data-testid=message-content]").textContent,
                                    n.dataset.continued])"""
    )
    assert dict(items[: len(expected)]) == expected
    authors = page.locator("#message-list [data-testid=message-author]:visible")
    await expect(authors).to_have_count(6)  # a header per group (not on system messages)

    # Every time shows its full date on hover; a grouped message's time only appears then.
    grouped = messages(page).filter(has_text="four minutes in")
    time = grouped.locator("[data-testid=message-time]")
    await expect(time).to_be_hidden()
    await grouped.hover()
    await expect(time).to_be_visible()
    stamp = local(hour_ago + timedelta(minutes=4), zone_hours)
    await expect(time).to_have_text(re.compile(rf"^{stamp:%I:%M}\s{stamp:%p}$"))
    title = await time.get_attribute("title")
    assert title is not None
    assert title.startswith(f"{stamp:%A}, {stamp:%B} {stamp.day}, {stamp.year} at "), title
    assert re.search(rf"\b{stamp.hour % 12 or 12}:{stamp:%M:%S}\s[AP]M$", title), title
    datetime_attr = await time.get_attribute("datetime")
    assert datetime_attr is not None
    assert datetime.fromisoformat(datetime_attr) == hour_ago + timedelta(minutes=4)
    # A header's time is always shown, with the full date on hover too.
    header_time = messages(page).filter(has_text="three days ago").first.locator("[data-testid=message-time]")
    await expect(header_time).to_be_visible()
    old = local(three_days_ago, zone_hours)
    await expect(header_time).to_have_attribute(
        "title", re.compile(rf"^{old:%A}, {old:%B} {old.day}, {old.year} at ")
    )

    # A live message today goes under today's separator. It starts a group (the system
    # message came in between); the next one joins it.
    await send_message(page, "Bob, live")
    await expect(separators).to_have_count(3)
    await expect(messages(page).last).to_have_attribute("data-continued", "false")
    await send_message(page, "and once more")
    await expect(messages(page).last).to_have_attribute("data-continued", "true")
    await expect(messages(page).last.locator("[data-testid=message-author]")).to_be_hidden()


# ---- a bounded list over a long history -------------------------------------------------------

TOTAL = 3_000

#: The number of messages and of DOM nodes (elements and text) in the list.
SIZE = """() => {
  const list = document.getElementById("message-list");
  const walker = document.createTreeWalker(list, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  let nodes = 0;
  while (walker.nextNode()) nodes += 1;
  return {messages: list.querySelectorAll("[data-testid=message]").length, nodes,
          separators: list.querySelectorAll("[data-testid=day-separator]").length};
}"""

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


def numbers(texts: list[str]) -> list[int]:
    return [int(text.split()[-1]) for text in texts if text.startswith("message ")]


async def assert_contiguous(page: Page) -> list[int]:
    """The list shows a run of consecutive seeded messages, in order, each once."""
    shown = numbers(await contents(page).all_text_contents())
    assert shown, "no seeded messages shown"
    assert shown == list(range(shown[0], shown[0] + len(shown))), shown[:3]
    return shown


async def test_scrolling_through_a_long_history_keeps_the_list_bounded(
    browse: Browsing, seed: Seeder
) -> None:
    reader, writer = await seed.user(), await seed.user()
    room = await seed.room(reader, writer)
    # Two minutes apart (a bit over four days), ending an hour ago.
    start = datetime.now(UTC) - timedelta(minutes=2 * TOTAL + 60)
    await store(room, *((writer, f"message {i:04d}", start + timedelta(minutes=2 * i)) for i in range(TOTAL)))
    await read_all(reader, room)  # so the room opens at the bottom, not at the first unread
    page = await browse.user_page(reader, room)
    other = await browse.user_page(writer, room)
    scroller = page.locator("#messages")
    await expect(messages(page)).to_have_count(50)  # the newest page: the writer's join and 49 more
    largest: dict[str, Any] = {"messages": 0, "nodes": 0}

    async def measure() -> dict[str, Any]:
        size = await page.evaluate(SIZE)
        assert size["messages"] <= MAX_RENDERED, size
        for key in ("messages", "nodes"):
            largest[key] = max(largest[key], size[key])
        return size

    # Scroll back to the very beginning, a page at a time; what the reader looks at stays put.
    pages_back = 0
    while not await page.locator("#history-start").is_visible():
        first_id = (await message_ids(page))[0]
        before = await page.evaluate(SCROLL_TOP_AND_MEASURE, [first_id])
        await page.wait_for_function(
            """([id]) => document.querySelector("#message-list [data-testid=message]").dataset.messageId !== id
                         || !document.getElementById("history-start").hidden""",
            arg=[first_id],
        )
        await expect(page.locator("#history-loading")).to_be_hidden()
        after = await page.evaluate(OFFSET, [first_id])
        assert abs(after - before) <= 2, (pages_back, before, after)
        await measure()
        pages_back += 1
        assert pages_back <= TOTAL // 50 + 2
    shown = await assert_contiguous(page)
    assert shown[0] == 0 and len(shown) == MAX_RENDERED
    await expect(contents(page).first).to_have_text("message 0000")
    separators = page.locator("#message-list [data-testid=day-separator]")
    days = await separators.evaluate_all("nodes => nodes.map(n => n.dataset.day)")
    assert len(days) == len(set(days)) and 1 <= len(days) <= 2, days

    # Far from the live end, a new message is counted on the pill, not added at the bottom.
    pill = page.locator("#new-messages-pill")
    await expect(pill).to_have_text("Jump to latest ↓")
    await send_message(other, "written while you were reading")
    await expect(pill).to_have_text("1 new message ↓")
    assert await contents(page).filter(has_text="written while you were reading").count() == 0

    # Scroll down ten pages: the newer messages are paged in again, the oldest dropped.
    for _ in range(10):
        last_id = (await message_ids(page))[-1]
        await scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
        await page.wait_for_function(
            """([id]) => [...document.querySelectorAll("#message-list [data-testid=message]")].at(-1)
                           .dataset.messageId !== id""",
            arg=[last_id],
        )
        await measure()
    shown = await assert_contiguous(page)
    assert shown[-1] == MAX_RENDERED + 10 * 50 - 1 and len(shown) == MAX_RENDERED, shown[-1]
    await expect(page.locator("#history-start")).to_be_hidden()

    # The pill jumps to the latest messages, the new one included, at the bottom.
    await pill.click()
    await expect(contents(page).last).to_have_text("written while you were reading")
    await expect(contents(page).last).to_be_in_viewport()
    await expect(pill).to_be_hidden()
    await expect(contents(page).nth(-3)).to_have_text(f"message {TOTAL - 1:04d}")
    await measure()

    # Following the live conversation: new messages appear and the list stays bounded.
    await send_message(other, "and this one follows along")
    await expect(contents(page).last).to_have_text("and this one follows along")
    await expect(contents(page).last).to_be_in_viewport()
    print(f"largest list: {largest['messages']} messages, {largest['nodes']} DOM nodes")
    assert largest["nodes"] <= 10 * MAX_RENDERED, largest


async def test_following_a_busy_room_drops_the_oldest(browse: Browsing, seed: Seeder) -> None:
    reader, writer = await seed.user(), await seed.user()
    room = await seed.room(reader, writer)
    start = datetime.now(UTC) - timedelta(minutes=30)
    await store(
        room, *((writer, f"message {i:04d}", start + timedelta(seconds=i)) for i in range(MAX_RENDERED))
    )
    page = await browse.user_page(reader, room)
    # Scroll back until the list is full (six pages), then follow the conversation again.
    while await messages(page).count() < MAX_RENDERED:
        count = await messages(page).count()
        await page.locator("#messages").evaluate("s => { s.scrollTop = 0; }")
        await expect(messages(page)).not_to_have_count(count)
    await page.locator("#messages").evaluate("s => { s.scrollTop = s.scrollHeight; }")
    await expect(page.locator("#new-messages-pill")).to_be_hidden()  # no gap: the newest are there
    other = await browse.user_page(writer, room)
    for i in range(5):
        await send_message(other, f"live {i}")
        await expect(contents(page).last).to_have_text(f"live {i}")
    await expect(messages(page)).to_have_count(MAX_RENDERED)
    await expect(contents(page).last).to_be_in_viewport()
    await expect(page.locator("#history-start")).to_be_hidden()
    first = numbers(await contents(page).all_text_contents())[0]
    assert first > 0  # the oldest went
    # Scrolling up brings them back.
    await page.locator("#messages").evaluate("s => { s.scrollTop = 0; }")
    await expect(contents(page).first).to_have_text("message 0000")
