"""Chatting in a room: realtime both ways, the typing indicator, the composer's rules."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.browser import Browsing, ChatPair, contents, member, message_ids, messages, send_message

pytestmark = pytest.mark.e2e


async def test_two_users_chat_in_realtime_both_ways(pair: ChatPair) -> None:
    a, b = pair.page_a, pair.page_b
    # The room starts with the system message about Bob joining.
    await expect(contents(a)).to_have_text([f"{pair.b.name} has joined the chat."])
    await expect(messages(a).first).to_have_attribute("data-system", "true")

    await send_message(a, "Hi Bob, can you read me?")
    await expect(contents(b).last).to_have_text("Hi Bob, can you read me?")
    arrived = messages(b).last
    await expect(arrived).to_have_attribute("data-author", pair.a.name)
    await expect(arrived).to_have_attribute("data-own", "false")
    await expect(arrived.locator("[data-testid=message-author]")).to_have_text(pair.a.name)
    await expect(messages(a).last).to_have_attribute("data-own", "true")

    # Bob answers with Enter; Shift+Enter makes a new line in the same message.
    await b.fill("#message-input", "Loud and clear.")
    await b.press("#message-input", "Shift+Enter")
    await b.locator("#message-input").press_sequentially("Over.")
    await expect(b.locator("#message-send")).to_be_enabled()
    await b.press("#message-input", "Enter")
    await expect(contents(a).last).to_have_text("Loud and clear.\nOver.")
    await expect(messages(a).last).to_have_attribute("data-author", pair.b.name)

    expected = [f"{pair.b.name} has joined the chat.", "Hi Bob, can you read me?", "Loud and clear.\nOver."]
    await expect(contents(a)).to_have_text(expected)
    await expect(contents(b)).to_have_text(expected)
    assert await message_ids(a) == await message_ids(b)


async def test_typing_indicator_appears_and_clears(pair: ChatPair) -> None:
    a, b = pair.page_a, pair.page_b
    indicator = a.locator("#typing-indicator")
    bob = member(a, pair.b.id)
    await expect(indicator).to_have_text("")

    await b.locator("#message-input").press_sequentially("I am wri")
    await expect(indicator).to_have_text(f"{pair.b.name} is typing…")
    await expect(bob).to_have_attribute("data-status", "Typing")
    await expect(bob.locator("[data-testid=member-status]")).to_have_text("Typing")

    # Sending the message ends "typing" at once.
    await b.click("#message-send")
    await expect(contents(a).last).to_have_text("I am wri")
    await expect(indicator).to_have_text("")
    await expect(bob).to_have_attribute("data-status", "Online")

    # Typing again right away shows up again, and emptying the box clears it.
    await b.locator("#message-input").press_sequentially("and")
    await expect(indicator).to_have_text(f"{pair.b.name} is typing…")
    await b.fill("#message-input", "")
    await expect(indicator).to_have_text("")
    await expect(bob).to_have_attribute("data-status", "Online")
    # Bob never sees himself typing.
    await expect(b.locator("#typing-indicator")).to_have_text("")


async def test_empty_messages_cannot_be_sent(pair: ChatPair, browse: Browsing) -> None:
    a = pair.page_a
    send = a.locator("#message-send")
    await expect(send).to_be_disabled()
    await a.fill("#message-input", "   \n\t  ")
    await expect(send).to_be_disabled()
    await a.press("#message-input", "Enter")  # Enter on a blank box sends nothing either
    await a.fill("#message-input", "")
    await expect(send).to_be_disabled()

    await send_message(a, "  real one  ")
    await expect(contents(pair.page_b).last).to_have_text("real one")  # trimmed
    await expect(messages(pair.page_b)).to_have_count(2)  # the join message and this one
    assert browse.watch(a).sent_on("/chat-message") == [{"content": "real one"}]


async def test_too_long_message_is_reported_while_typing(pair: ChatPair, browse: Browsing) -> None:
    a = pair.page_a
    counter, reason, send = (
        a.locator("#message-counter"),
        a.locator("#message-reason"),
        a.locator("#message-send"),
    )
    await a.fill("#message-input", "x" * 512)
    await expect(counter).to_have_text("512 / 512")
    await expect(send).to_be_enabled()
    await expect(reason).to_have_text("")

    await a.locator("#message-input").press("End")
    await a.locator("#message-input").press_sequentially("y")
    await expect(counter).to_have_text("513 / 512")
    await expect(counter).to_have_attribute("data-over", "true")
    await expect(reason).to_contain_text("512")
    await expect(a.locator("#message-input")).to_have_attribute("aria-invalid", "true")
    await expect(send).to_be_disabled()
    await a.press("#message-input", "Enter")  # refused: nothing goes out

    await a.locator("#message-input").press("Backspace")
    await expect(counter).to_have_text("512 / 512")
    await expect(reason).to_have_text("")
    await a.click("#message-send")
    await expect(contents(pair.page_b).last).to_have_text("x" * 512)
    assert browse.watch(a).sent_on("/chat-message") == [{"content": "x" * 512}]
