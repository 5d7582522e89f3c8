"""Direct messages: the unread badge and notification, then the conversation both ways."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.browser import Browsing, ChatPair, contents, dm_button, member, sync_events, wait_until

pytestmark = pytest.mark.e2e


async def test_direct_message_with_unread_badge(pair: ChatPair, browse: Browsing) -> None:
    a, b = pair.page_a, pair.page_b
    badge_on_ada = member(b, pair.a.id).locator("[data-testid=unread-badge]")
    await expect(badge_on_ada).to_be_hidden()

    await dm_button(a, pair.b.id).click()
    await expect(a.locator("#dm-panel")).to_be_visible()
    await expect(a.locator("#dm-title")).to_have_text(pair.b.name)
    await expect(a.locator("#dm-note")).to_contain_text("not saved")
    await expect(a.locator("#dm-input")).to_be_focused()
    await expect(a.locator("#dm-send")).to_be_disabled()
    # The server delivers a DM only between the two users' sockets to each other. Bob's
    # client opens its side on Ada's dm-open and then confirms with its own dm-open.
    watch_a = browse.watch(a)
    await wait_until(
        lambda: any(sync_events(watch_a, "dm-open", to=pair.a.id, **{"from": pair.b.id})),
        "Bob's direct-message socket to Ada",
    )

    await a.fill("#dm-input", "psst, a secret")
    await a.click("#dm-send")
    await expect(contents(a, "#dm-messages")).to_have_text(["psst, a secret"])
    await expect(a.locator("#dm-input")).to_have_value("")

    # Bob is not looking at the conversation: badge and notification.
    await expect(badge_on_ada).to_be_visible()
    await expect(badge_on_ada).to_have_text("1")
    toast = b.locator("#toasts [data-testid=toast]")
    await expect(toast).to_contain_text(f"New direct message from {pair.a.name}")
    await expect(b.locator("#dm-panel")).to_be_hidden()
    # The message never travels in the room: not in anyone's room chat.
    await expect(contents(b)).to_have_text([f"{pair.b.name} has joined the chat."])

    await a.fill("#dm-input", "and another")
    await a.click("#dm-send")
    await expect(badge_on_ada).to_have_text("2")

    await dm_button(b, pair.a.id).click()
    await expect(b.locator("#dm-panel")).to_be_visible()
    await expect(b.locator("#dm-title")).to_have_text(pair.a.name)
    await expect(contents(b, "#dm-messages")).to_have_text(["psst, a secret", "and another"])
    await expect(badge_on_ada).to_be_hidden()
    dm = b.locator("#dm-messages [data-testid=message]")
    await expect(dm.first).to_have_attribute("data-author", pair.a.name)
    await expect(dm.first).to_have_attribute("data-own", "false")

    await b.fill("#dm-input", "got both")
    await b.press("#dm-input", "Enter")
    await expect(contents(a, "#dm-messages")).to_have_text(["psst, a secret", "and another", "got both"])
    await expect(a.locator("#dm-messages [data-testid=message]").last).to_have_attribute("data-own", "false")
    # Ada has the conversation open: no badge for her.
    await expect(member(a, pair.b.id).locator("[data-testid=unread-badge]")).to_be_hidden()

    await b.click("#dm-close")
    await expect(b.locator("#dm-panel")).to_be_hidden()
