"""Mentions and calling the user back: the composer's "@" picker (keyboard and mouse), the
highlight of a message that mentions the reader (only for them), and, while the tab is
hidden, a browser notification, a count in the title and a badge on the favicon."""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import Page, expect

from tests.support.browser import (
    PHONE,
    Browsing,
    contents,
    dm_button,
    log_in,
    member,
    messages,
    open_room,
    send_message,
    sync_events,
    wait_until,
)
from tests.support.seeding import SeededUser, Seeder

pytestmark = pytest.mark.e2e

#: Test hooks, injected before the page's scripts: a tab that can be hidden on demand
#: (``__setHidden(true)`` changes document.visibilityState and fires visibilitychange, as
#: switching tabs does), and a Notification that records what the page shows and asks.
HOOKS = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.__notifications = [];
  window.__permissionRequests = 0;
  const Original = window.Notification;
  class Recorded extends Original {
    constructor(title, options = {}) {
      super(title, options);
      window.__notifications.push({ title, body: options.body, tag: options.tag, notification: this });
    }
    static requestPermission(...args) {
      window.__permissionRequests += 1;
      return Original.requestPermission(...args);
    }
  }
  window.Notification = Recorded;
})();
"""

NOTIFICATIONS = "window.__notifications.map(({ title, body }) => ({ title, body }))"


def person(first: str) -> str:
    """A unique name with a space in it, as people's names have (digits only after it, so
    that a query such as "ad" matches the first name and nothing else)."""
    return f"{first} {secrets.randbelow(10**8):08d}"


async def hooked_page(
    browse: Browsing, user: SeededUser, room: str | None, *, notifications: bool = True, label: str = "hooked"
) -> Page:
    """``user``'s page with the hooks above, installed before anything runs, and ``room`` open.

    With ``notifications``, the context has the permission (as if granted earlier); without,
    headless Chromium reports it as denied.
    """
    page = await browse.page(label)
    await page.context.add_init_script(HOOKS)
    if notifications:
        await page.context.grant_permissions(["notifications"], origin=browse.base_url)
    await log_in(page, browse.base_url, user)
    if room is not None:
        await open_room(page, room, user)
    return page


async def members_loaded(page: Page, *users: SeededUser) -> None:
    for user in users:
        await expect(member(page, user.id)).to_have_count(1)


# ---- the "@" picker ---------------------------------------------------------------------------


async def test_picker_with_the_keyboard(browse: Browsing, seed: Seeder) -> None:
    grace = await seed.user(person("Grace"))
    ada = await seed.user(person("Ada"))
    lovelace = await seed.user(person("Ada Lovelace"))
    bob = await seed.user(person("Bob"))
    room = await seed.room(grace, ada, lovelace, bob)
    page = await browse.user_page(grace, room)
    await members_loaded(page, ada, lovelace, bob)

    box = page.locator("#message-input")
    listbox = page.locator("#mention-listbox")
    options = listbox.locator("[data-testid=mention-option]")
    await expect(listbox).to_be_hidden()
    await box.press_sequentially("Hi @ad")
    await expect(listbox).to_be_visible()
    await expect(listbox).to_have_attribute("role", "listbox")
    # Both Adas, best match first ("Ada <digits>" sorts before "Ada Lovelace <digits>"), not
    # Bob and not Grace herself.
    await expect(options).to_have_count(2)
    await expect(options.nth(0)).to_have_attribute("data-user-id", str(ada.id))
    await expect(options.nth(1)).to_have_attribute("data-user-id", str(lovelace.id))
    await expect(page.get_by_role("listbox", name="Members to mention").get_by_role("option")).to_have_text(
        [f"@{ada.name}", f"@{lovelace.name}"]
    )
    await expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    await expect(box).to_have_attribute("aria-controls", "mention-listbox")
    await expect(box).to_have_attribute("aria-activedescendant", f"mention-option-{ada.id}")
    await expect(box).to_have_attribute("aria-autocomplete", "list")

    await box.press("ArrowDown")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    await expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    await expect(box).to_have_attribute("aria-activedescendant", f"mention-option-{lovelace.id}")
    await box.press("ArrowDown")  # wraps around
    await expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    await box.press("ArrowUp")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")

    # Enter inserts the name (with its spaces) at the caret; it does not send.
    await box.press("Enter")
    await expect(listbox).to_be_hidden()
    await expect(box).to_have_value(f"Hi @{lovelace.name} ")
    await expect(box).not_to_have_attribute("aria-activedescendant", f"mention-option-{lovelace.id}")
    # The composer saw the change (its counter follows the input event).
    await expect(page.locator("#message-counter")).to_have_text(f"{len(f'Hi @{lovelace.name} ')} / 512")

    # Typing narrows the list: the query may hold spaces, as names do.
    await box.press_sequentially("and @ada lo")
    await expect(options).to_have_count(1)
    await expect(options.first).to_have_attribute("data-user-id", str(lovelace.id))
    await box.press_sequentially("zz")
    await expect(listbox).to_be_hidden()
    for _ in range(len("ada lozz")):
        await box.press("Backspace")
    await expect(options).to_have_count(3)  # "@" alone: everyone but Grace

    # Escape closes it for this "@" (the drawers and the room stay as they are) …
    await box.press("Escape")
    await expect(listbox).to_be_hidden()
    await box.press_sequentially("g")
    await expect(listbox).to_be_hidden()
    # … and a new "@" opens it again; Tab picks too.
    await box.press("Backspace")
    await box.press("Backspace")
    await box.press_sequentially("@bo")
    await expect(options).to_have_count(1)
    await box.press("Tab")
    await expect(box).to_be_focused()
    text = f"Hi @{lovelace.name} and @{bob.name} "
    await expect(box).to_have_value(text)

    # Enter sends once the picker is closed; the mentions show as mentions.
    await box.press("Enter")
    own = messages(page).last
    await expect(own.locator("[data-testid=message-content]")).to_have_text(text.strip())
    mentions = own.locator("[data-testid=mention]")
    await expect(mentions).to_have_text([f"@{lovelace.name}", f"@{bob.name}"])
    await expect(mentions.first).to_have_attribute("data-name", lovelace.name)


async def test_picker_with_the_mouse_on_a_phone(browse: Browsing, seed: Seeder) -> None:
    grace = await seed.user(person("Grace"))
    ada = await seed.user(person("Ada"))
    room = await seed.room(grace, ada)
    page = await browse.user_page(grace, room, has_touch=True)
    await page.set_viewport_size(PHONE)
    await members_loaded(page, ada)

    box = page.locator("#message-input")
    await box.press_sequentially("thanks @")
    option = page.locator(f'#mention-listbox [data-testid=mention-option][data-user-id="{ada.id}"]')
    await expect(option).to_be_visible()
    # The list is on screen, above the message box.
    listbox_box = await page.locator("#mention-listbox").bounding_box()
    input_box = await box.bounding_box()
    assert listbox_box and input_box
    assert listbox_box["y"] + listbox_box["height"] <= input_box["y"] + 1
    assert listbox_box["x"] >= 0 and listbox_box["x"] + listbox_box["width"] <= PHONE["width"]

    await option.tap()
    await expect(page.locator("#mention-listbox")).to_be_hidden()
    await expect(box).to_have_value(f"thanks @{ada.name} ")
    await expect(box).to_be_focused()

    # A click works as well, and the caret decides where the name goes.
    await box.fill("hello  there")
    await box.evaluate("box => box.setSelectionRange(6, 6)")
    await box.press_sequentially("@")
    await option.click()
    await expect(box).to_have_value(f"hello @{ada.name} there")


# ---- the highlight --------------------------------------------------------------------------


async def test_a_mention_is_highlighted_for_the_mentioned_member_only(browse: Browsing, seed: Seeder) -> None:
    ada = await seed.user(person("Ada"))
    bob = await seed.user(person("Bob"))
    cy = await seed.user(person("Cy"))
    room = await seed.room(ada, bob, cy)
    page_a = await browse.user_page(ada, room, label="A")
    page_b = await browse.user_page(bob, room, label="B")
    page_c = await browse.user_page(cy, room, label="C")
    for page in (page_a, page_b, page_c):
        await members_loaded(page, ada, bob, cy)

    text = f"@{bob.name.upper()} can you look? cc ada@example.com, not `@{cy.name}`"
    shown = text.replace("`", "")  # inline code is shown without its backticks
    await page_a.fill("#message-input", text)
    await page_a.press("#message-input", "Enter")
    for page in (page_a, page_b, page_c):
        await expect(contents(page).last).to_have_text(shown)

    for_bob = messages(page_b).last
    await expect(for_bob).to_have_attribute("data-mentions-me", "true")
    await expect(for_bob).to_have_class("msg msg-other msg-mention")
    await expect(for_bob.locator(".sr-only")).to_have_text("mentions you")
    # Not only a colour: an accent bar.
    assert await for_bob.evaluate("n => getComputedStyle(n).borderLeftWidth") == "4px"
    token = for_bob.locator("[data-testid=mention]")
    await expect(token).to_have_text(f"@{bob.name.upper()}")
    await expect(token).to_have_attribute("data-me", "true")
    await expect(token).to_have_attribute("data-name", bob.name)
    # The content is still exactly the text; the e-mail and the code are no mentions.
    await expect(for_bob.locator("[data-testid=message-content]")).to_have_text(shown)
    await expect(for_bob.locator("[data-testid=inline-code]")).to_have_text(f"@{cy.name}")

    for page in (page_a, page_c):
        seen = messages(page).last
        await expect(seen).not_to_have_attribute("data-mentions-me", "true")
        await expect(seen.locator(".sr-only")).to_have_count(0)
        await expect(seen.locator("[data-testid=mention]")).to_have_attribute("data-me", "false")
    assert await messages(page_c).last.evaluate("n => getComputedStyle(n).borderLeftWidth") == "0px"

    # From the history too, after a reload.
    await page_b.reload()
    await expect(messages(page_b).last).to_have_attribute("data-mentions-me", "true")
    await expect(messages(page_b).last.locator("[data-testid=mention]")).to_have_text(f"@{bob.name.upper()}")


# ---- notifications, title and favicon ---------------------------------------------------------


async def test_notifications_title_and_favicon_in_a_hidden_tab(browse: Browsing, seed: Seeder) -> None:
    ada = await seed.user(person("Ada"))
    bob = await seed.user(person("Bob"))
    room_name = person("Workshop")
    room = await seed.room(ada, bob, name=room_name)
    page_a = await browse.user_page(ada, room, label="A")
    page_b = await hooked_page(browse, bob, room, label="B")
    await members_loaded(page_b, ada)
    await expect(member(page_a, bob.id)).to_have_attribute("data-status", "Online")

    # Opt-in: off until the bell is clicked, even with the permission granted before (then
    # there is nothing to ask the browser).
    bell = page_b.locator("#notifications-toggle")
    await expect(bell).to_have_attribute("data-state", "off")
    await expect(bell).to_have_text("Notifications: off")
    await bell.click()
    await expect(bell).to_have_attribute("data-state", "on")
    await expect(bell).to_have_text("Notifications: on")
    assert await page_b.evaluate("window.__permissionRequests") == 0
    assert await page_b.evaluate("localStorage.getItem('pykcworkshop.notifications')") == "on"

    favicon = page_b.locator('link[rel~="icon"]')
    plain_icon = await favicon.evaluate("link => link.href")
    assert plain_icon.endswith("/favicon.svg")
    base_title = f"{room_name} · pykcworkshop chat"
    await expect(page_b).to_have_title(base_title)

    # While the tab is visible: the highlight, but no notification and no count.
    await send_message(page_a, f"hello @{bob.name}")
    await expect(messages(page_b).last).to_have_attribute("data-mentions-me", "true")
    await page_b.wait_for_timeout(200)
    assert await page_b.evaluate(NOTIFICATIONS) == []
    await expect(page_b).to_have_title(base_title)

    # Hidden: a message without a mention stays quiet, a mention notifies.
    await page_b.evaluate("window.__setHidden(true)")
    await send_message(page_a, "just chatting")
    await send_message(page_a, f"@{bob.name} the build is green")
    await expect(contents(page_b).last).to_have_text(f"@{bob.name} the build is green")
    await wait_until_js(page_b, "window.__notifications.length === 1", "the mention's notification")
    assert await page_b.evaluate(NOTIFICATIONS) == [
        {"title": room_name, "body": f"{ada.name}: @{bob.name} the build is green"}
    ]
    # The title counts both unread messages (the server's counts), the badge the mention.
    await expect(page_b).to_have_title(f"(2) {base_title}")
    await expect(favicon).to_have_attribute("data-badge", "1")
    assert (await favicon.evaluate("link => link.href")).startswith("data:image/png;base64,")

    # A direct message while hidden: its own notification; a click opens the conversation.
    await dm_button(page_a, bob.id).click()
    watch_a = browse.watch(page_a)
    await wait_until(
        lambda: any(sync_events(watch_a, "dm-open", to=ada.id, **{"from": bob.id})),
        "Bob's direct-message socket to Ada",
    )
    await page_a.fill("#dm-input", "psst, lunch?")
    await page_a.click("#dm-send")
    await wait_until_js(page_b, "window.__notifications.length === 2", "the DM's notification")
    assert (await page_b.evaluate(NOTIFICATIONS))[1] == {
        "title": f"Direct message from {ada.name}",
        "body": "psst, lunch?",
    }
    await expect(page_b).to_have_title(f"(3) {base_title}")
    await expect(favicon).to_have_attribute("data-badge", "2")
    await expect(page_b.locator("#dm-panel")).to_be_hidden()

    await page_b.evaluate("window.__notifications[1].notification.dispatchEvent(new Event('click'))")
    await expect(page_b.locator("#dm-panel")).to_be_visible()
    await expect(page_b.locator("#dm-title")).to_have_text(ada.name)
    await expect(contents(page_b, "#dm-messages")).to_have_text(["psst, lunch?"])

    # Back on the tab: the count, the badge and the notifications are gone.
    await page_b.evaluate("window.__setHidden(false)")
    await expect(page_b).to_have_title(base_title)
    await expect(favicon).not_to_have_attribute("data-badge", "2")
    assert await favicon.evaluate("link => link.href") == plain_icon

    # Turned off: hidden again, a mention still counts but shows no notification.
    await bell.click()
    await expect(bell).to_have_attribute("data-state", "off")
    await page_b.evaluate("window.__setHidden(true)")
    await send_message(page_a, f"@{bob.name} one more")
    await expect(page_b).to_have_title(f"(1) {base_title}")
    assert await page_b.evaluate("window.__notifications.length") == 2


async def test_the_choice_is_remembered(browse: Browsing, seed: Seeder) -> None:
    bob = await seed.user(person("Bob"))
    room = await seed.room(bob)
    page = await hooked_page(browse, bob, room)
    bell = page.locator("#notifications-toggle")
    await expect(bell).to_have_attribute("data-state", "off")
    await bell.click()
    await expect(bell).to_have_attribute("data-state", "on")
    await page.reload()
    await expect(bell).to_have_attribute("data-state", "on")
    assert await page.evaluate("window.__permissionRequests") == 0
    # Logging out keeps the choice (it is about this browser), and so does the next login.
    await page.click("#logout")
    await log_in(page, browse.base_url, bob)
    await expect(bell).to_have_attribute("data-state", "on")
    await bell.click()
    await expect(bell).to_have_attribute("data-state", "off")
    await page.reload()
    await expect(bell).to_have_attribute("data-state", "off")


async def test_asked_only_on_click_and_blocked_after_a_refusal(browse: Browsing, seed: Seeder) -> None:
    bob = await seed.user(person("Bob"))
    room = await seed.room(bob)
    # No permission yet: headless Chromium refuses when asked.
    page = await hooked_page(browse, bob, room, notifications=False)
    assert await page.evaluate("Notification.permission") == "default"
    bell = page.locator("#notifications-toggle")
    await expect(bell).to_have_attribute("data-state", "off")
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__permissionRequests") == 0  # never on page load

    await bell.click()
    await expect(bell).to_have_attribute("data-state", "blocked")
    assert await page.evaluate("window.__permissionRequests") == 1
    assert await page.evaluate("Notification.permission") == "denied"
    await expect(bell).to_have_text("Notifications blocked by the browser")
    toast = page.locator("#toasts [data-testid=toast]")
    await expect(toast).to_contain_text("site settings")
    assert await page.evaluate("localStorage.getItem('pykcworkshop.notifications')") == "off"

    # Asking again would be pointless: a click explains where to change it.
    await toast.locator("button").last.click()
    await bell.click()
    await expect(toast).to_contain_text("site settings")
    assert await page.evaluate("window.__permissionRequests") == 1
    await expect(bell).to_have_attribute("data-state", "blocked")


async def wait_until_js(page: Page, expression: str, description: str) -> None:
    try:
        await page.wait_for_function(expression, timeout=5_000)
    except Exception as error:  # a clearer message than Playwright's timeout
        raise AssertionError(f"timed out waiting for {description}") from error


async def test_hostile_names_stay_text_in_the_picker_and_in_mentions(browse: Browsing, seed: Seeder) -> None:
    grace = await seed.user(person("Grace"))
    hostile = await seed.user(f'<img src=x onerror="alert(1)"> {secrets.randbelow(10**6)}')
    room = await seed.room(grace, hostile)
    page = await browse.user_page(grace, room)
    await members_loaded(page, hostile)

    box = page.locator("#message-input")
    await box.press_sequentially("hi @<im")
    option = page.locator("#mention-listbox [data-testid=mention-option]")
    await expect(option).to_have_text(f"@{hostile.name}")
    await box.press("Enter")
    await box.press("Enter")
    mention = messages(page).last.locator("[data-testid=mention]")
    await expect(mention).to_have_text(f"@{hostile.name}")
    await expect(page.locator("#message-list img, #mention-listbox img")).to_have_count(0)
