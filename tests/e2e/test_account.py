"""Accounts: signing up (the key dialog), logging in and out with the key, live name checks."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support import unique_name
from tests.support.browser import Browsing, contents, log_in, open_room, send_message, session_of, wait_live
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e


async def test_sign_up_shows_the_key_once_then_log_out_and_in_with_it(browse: Browsing) -> None:
    page = await browse.page("signup")
    await page.goto(f"{browse.base_url}/chat/")
    await expect(page.locator("#auth-view")).to_be_visible()
    await expect(page.locator("#app-view")).to_be_hidden()
    await expect(page.locator("#signup-submit")).to_be_disabled()

    name = unique_name("grace")
    await page.fill("#signup-name", name)
    await expect(page.locator("#signup-submit")).to_be_enabled()
    await page.click("#signup-submit")

    dialog = page.locator("#login-key-dialog")
    await expect(dialog).to_be_visible()
    key = (await page.locator("#login-key-display").text_content() or "").strip()
    assert len(key) >= 20, key
    # Escape must not close the dialog: the key would be lost unseen.
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_visible()
    await page.click("#login-key-done")
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#app-view")).to_be_visible()
    await expect(page.locator("#current-user")).to_have_text(name)

    # Shown once: gone from the page, never stored in the browser, not shown after a reload.
    await expect(page.locator("#login-key-display")).to_have_text("")
    assert key not in await page.content()
    stored = await page.evaluate("JSON.stringify(Object.entries(localStorage))")
    assert key not in stored
    assert (await session_of(page))["user_name"] == name

    await page.reload()
    await expect(page.locator("#current-user")).to_have_text(name)
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#login-key-display")).to_have_text("")

    await page.click("#logout")
    await expect(page.locator("#auth-view")).to_be_visible()
    await expect(page.locator("#app-view")).to_be_hidden()
    await expect(page.locator("#user-menu")).to_be_hidden()
    assert await session_of(page) == {}
    await expect(page.locator("#login-key-input")).to_be_focused()

    await page.fill("#login-key-input", key)
    await page.click("#login-submit")
    await expect(page.locator("#current-user")).to_have_text(name)
    assert (await session_of(page))["user_name"] == name


async def test_wrong_login_key_is_refused(browse: Browsing, seed: Seeder) -> None:
    page = await browse.page("wrong key")
    browse.watch(page).allow_errors(r"status of 401")  # Chromium logs the refused request
    user = await seed.user()
    await page.goto(f"{browse.base_url}/chat/")
    await page.fill("#login-key-input", user.login_key[:-3] + "x" + user.login_key[-2:])
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("That login key is not valid.")
    await expect(page.locator("#app-view")).to_be_hidden()
    assert await session_of(page) == {}


async def test_session_survives_a_reload_and_reopens_the_room(browse: Browsing, seed: Seeder) -> None:
    user = await seed.user()
    room = await seed.room(user)
    page = await browse.user_page(user, room)
    await send_message(page, "still here after a reload?")

    await page.reload()
    await expect(page.locator("#current-user")).to_have_text(user.name)
    await wait_live(page, room, user)
    await expect(contents(page)).to_have_text(["still here after a reload?"])

    # A new tab of the same browser shares the session too.
    tab = await page.context.new_page()
    await tab.goto(f"{browse.base_url}/chat/")
    await expect(tab.locator("#current-user")).to_have_text(user.name)
    await tab.close()

    await page.click("#logout")
    await expect(page.locator("#auth-view")).to_be_visible()
    await page.reload()
    await expect(page.locator("#auth-view")).to_be_visible()
    await expect(page.locator("#app-view")).to_be_hidden()


async def test_taken_and_invalid_names_are_reported_while_typing(browse: Browsing, seed: Seeder) -> None:
    taken = await seed.user(unique_name("Taken"))
    page = await browse.page("names")
    await page.goto(f"{browse.base_url}/chat/")
    reason, submit = page.locator("#signup-reason"), page.locator("#signup-submit")

    await page.fill("#signup-name", taken.name.upper())  # taken in any letter case
    await expect(reason).to_contain_text("taken")
    await expect(submit).to_be_disabled()
    await expect(page.locator("#signup-name")).to_have_attribute("aria-invalid", "true")

    await page.fill("#signup-name", "n" * 33)
    await expect(reason).to_contain_text("32")
    await expect(submit).to_be_disabled()

    await page.fill("#signup-name", unique_name("free"))
    await expect(reason).to_have_text("")
    await expect(submit).to_be_enabled()

    # Room names: one owner cannot have two rooms of the same name.
    room_name = unique_name("Lobby")
    await seed.room(taken, name=room_name)
    await log_in(page, browse.base_url, taken)
    await page.fill("#room-create-name", room_name.lower())
    await expect(page.locator("#room-create-reason")).not_to_be_empty()
    await expect(page.locator("#room-create-submit")).to_be_disabled()
    await page.fill("#room-create-name", "r" * 33)
    await expect(page.locator("#room-create-reason")).to_contain_text("32")
    await page.fill("#room-create-name", "Another room")
    await expect(page.locator("#room-create-reason")).to_have_text("")
    await page.click("#room-create-submit")
    await expect(page.locator("#room-title")).to_have_text("Another room")
    room = await page.locator("#room-view").get_attribute("data-room-hash")
    assert room
    await expect(page.locator(f'#owned-rooms [data-room-hash="{room}"]')).to_have_count(1)
    await expect(page.locator(f'#joined-rooms [data-room-hash="{room}"]')).to_have_count(1)
    await open_room(page, room, taken)


async def test_log_out_ends_the_session_in_the_other_browser_too(browse: Browsing, seed: Seeder) -> None:
    """Two browsers of one user (separate storage): logging out in one drops the other.

    The second browser learns it only from its sockets closing with 4001: it goes to the
    sign-in screen and, from then on, opens no new sockets (4001 is final, no reconnect
    loop). Before it knows, one retry is fair: a socket whose handshake was still under
    way at the logout is refused, and cannot tell that from a network failure. (Seen once
    in CI: a room-events socket opened once more in that moment.)
    """
    user = await seed.user()
    room = await seed.room(user)
    first = await browse.user_page(user, room, label="first")
    second = await browse.user_page(user, room, label="second")
    # A request the second browser still had under way with the old token may be refused.
    browse.watch(second).allow_errors(r"status of 401")
    opened: list[str] = []
    second.on("websocket", lambda ws: opened.append(ws.url))

    await first.click("#logout")
    await expect(first.locator("#auth-view")).to_be_visible()
    await expect(second.locator("#auth-view")).to_be_visible(timeout=3000)
    before_it_knew = [url for url in opened if "/form-validation" not in url]
    await expect(second.locator("#app-view")).to_be_hidden()
    await expect(second.locator("#toasts [data-testid=toast]")).to_contain_text("signed out")
    assert await session_of(second) == {}
    await second.wait_for_timeout(1500)
    assert [url for url in opened if "/form-validation" not in url] == before_it_knew, "opened after sign-out"
    assert len(set(before_it_knew)) == len(before_it_knew), f"more than one retry: {before_it_knew}"

    # The old session is over; the login key still works, in either browser.
    await second.fill("#login-key-input", user.login_key)
    await second.click("#login-submit")
    await expect(second.locator("#current-user")).to_have_text(user.name)
    stored = await session_of(second)
    assert stored["user_token"] != user.token
