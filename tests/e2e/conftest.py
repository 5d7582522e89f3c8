"""Fixtures for the browser tests: one headless Chromium per session, fresh contexts per test.

Run with ``hatch run e2e`` (``pytest -m e2e tests/e2e``). The tests use Playwright's async
API on the suite's session event loop, and Debian's Chromium (``PYKC_E2E_CHROMIUM``
overrides the path), because ``playwright install`` may not be able to download browsers.

Every page a test opens is watched: a console error, an uncaught exception or a CSP
violation on any page fails the test, unless the test allowed that error explicitly
(``browse.watch(page).allow_errors(...)``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.support import unique_name
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, Browsing, ChatPair, member
from tests.support.live_server import LiveServer
from tests.support.seeding import Seeder

HAVE_CHROMIUM = os.path.exists(CHROMIUM)

#: Timeout of Playwright actions (click, fill, goto…) and waits, in milliseconds.
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium, launched once per test session."""
    if not HAVE_CHROMIUM:
        reason = f"no Chromium at {CHROMIUM} (install Debian's chromium or set PYKC_E2E_CHROMIUM)"
        if os.environ.get("CI"):  # in CI a missing browser is a broken setup, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
def base_url(live_server: LiveServer) -> str:
    return live_server.http_url


@pytest.fixture
async def browse(browser: Browser, base_url: str) -> AsyncIterator[Browsing]:
    """Opens pages in fresh contexts; fails the test on console errors or CSP violations."""
    browsing = Browsing(browser, base_url, action_timeout=ACTION_TIMEOUT_MS)
    try:
        yield browsing
    finally:
        await browsing.close()
    errors = browsing.unexpected_errors()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


@pytest.fixture
async def pair(browse: Browsing, seed: Seeder) -> ChatPair:
    """Ada owns a room Bob has joined; both have it open and see each other Online."""
    a = await seed.user(unique_name("ada"))
    b = await seed.user(unique_name("bob"))
    room = await seed.room(a, b)
    page_a, page_b = await asyncio.gather(
        browse.user_page(a, room, label="A"), browse.user_page(b, room, label="B")
    )
    await expect(member(page_a, b.id)).to_have_attribute("data-status", "Online")
    await expect(member(page_b, a.id)).to_have_attribute("data-status", "Online")
    return ChatPair(a, b, room, page_a, page_b)
