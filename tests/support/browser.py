"""Helpers for the browser tests: launching Chromium, watching pages, driving the chat UI.

The selectors are the stable hooks listed at the top of ``static/app.mjs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, WebSocket, expect

from tests.support.seeding import SeededUser

#: Debian's Chromium; `playwright install` cannot download browsers here.
CHROMIUM = os.environ.get("PYKC_E2E_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

#: Default timeout of ``expect(...)`` assertions, in milliseconds.
EXPECT_TIMEOUT_MS = 5_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

#: Reports every CSP violation as a console error, so the console watch catches it (and
#: keeps them on ``window.__cspViolations`` for direct checks). Init scripts are injected
#: by the browser itself and are not subject to the page's CSP.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const text = `${event.violatedDirective} blocked ${event.blockedURI || "inline"}`;
  window.__cspViolations.push(text);
  console.error(`CSP violation: ${text}`);
});
"""

#: What Chromium logs while the server is down: refused websockets and fetches.
NETWORK_DOWN_ERRORS = (
    r"WebSocket connection to .* failed",
    r"Failed to load resource: net::ERR_CONNECTION_REFUSED",
    r"Failed to load resource: net::ERR_CONNECTION_RESET",
    r"Failed to load resource: net::ERR_EMPTY_RESPONSE",
)


@dataclass
class Watched:
    """A page with everything the tests check on the side: console errors and sync frames."""

    page: Page
    label: str
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    #: Every frame this page received on a room's /client-sync socket (parsed JSON).
    sync_frames: list[Any] = field(default_factory=list)
    #: Every frame this page sent on any socket: (path after /chat/api/v1, payload).
    sent_frames: list[tuple[str, str]] = field(default_factory=list)

    def allow_errors(self, *patterns: str) -> None:
        """Accept console errors matching any of ``patterns`` (regular expressions)."""
        self.allowed.extend(re.compile(pattern) for pattern in patterns)

    def unexpected_errors(self) -> list[str]:
        return [error for error in self.errors if not any(p.search(error) for p in self.allowed)]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            # A refused request's entry names no URL in its text; its location does.
            url = (message.location or {}).get("url", "")
            where = f" ({url})" if url and url not in message.text else ""
            self.errors.append(f"console.error: {message.text}{where}")

    def _page_error(self, error: Exception) -> None:
        self.errors.append(f"pageerror: {error}")

    def _websocket(self, ws: WebSocket) -> None:
        path = ws.url.split("/chat/api/v1", 1)[-1]
        ws.on("framesent", lambda payload: self.sent_frames.append((path, str(payload))))
        if path.endswith("/client-sync"):
            ws.on("framereceived", self._sync_frame)

    def sent_on(self, suffix: str) -> list[Any]:
        """The JSON frames this page sent on sockets whose path ends with ``suffix``."""
        return [json.loads(payload) for path, payload in self.sent_frames if path.endswith(suffix)]

    def _sync_frame(self, payload: str | bytes) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.sync_frames.append(json.loads(payload))


class Browsing:
    """Opens pages in fresh browser contexts (one per simulated person) for one test."""

    def __init__(self, browser: Browser, base_url: str, *, action_timeout: float = 10_000) -> None:
        self.browser = browser
        self.base_url = base_url
        self.action_timeout = action_timeout
        self.contexts: list[BrowserContext] = []
        self.watched: dict[Page, Watched] = {}

    async def page(
        self, label: str = "page", *, viewport: dict[str, int] | None = None, **options: Any
    ) -> Page:
        """A new page in a new context (own localStorage: a separate person's browser)."""
        context = await self.browser.new_context(viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(self.action_timeout)
        await context.add_init_script(CSP_WATCH)
        self.contexts.append(context)
        page = await context.new_page()
        watched = Watched(page, label)
        page.on("console", watched._console)
        page.on("pageerror", watched._page_error)
        page.on("websocket", watched._websocket)
        self.watched[page] = watched
        return page

    def watch(self, page: Page) -> Watched:
        return self.watched[page]

    async def user_page(
        self, user: SeededUser, room: str | None = None, *, label: str | None = None, **options: Any
    ) -> Page:
        """A page where ``user`` is logged in (with their key) and, if given, ``room`` is open."""
        page = await self.page(label or user.name, **options)
        await log_in(page, self.base_url, user)
        if room is not None:
            await open_room(page, room, user)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        self.contexts.clear()

    def unexpected_errors(self) -> list[str]:
        return [f"[{w.label}] {error}" for w in self.watched.values() for error in w.unexpected_errors()]


@dataclass
class ChatPair:
    """Two people in one room, each in their own browser, both connected."""

    a: SeededUser
    b: SeededUser
    room: str
    page_a: Page
    page_b: Page


# ---- driving the UI -------------------------------------------------------------------------


async def log_in(page: Page, base_url: str, user: SeededUser) -> None:
    """Open the app and log in with the user's login key."""
    await page.goto(f"{base_url}/chat/")
    await page.fill("#login-key-input", user.login_key)
    await page.click("#login-submit")
    await expect(page.locator("#current-user")).to_have_text(user.name)
    await expect(page.locator("#app-view")).to_be_visible()


async def open_room(page: Page, room: str, user: SeededUser | None = None) -> None:
    """Open a joined room from the sidebar and wait until it is live.

    Live means: our own member-status socket is open (we show ourselves Online) and the
    first page of the conversation has been loaded (which happens only once the chat socket
    is open), so the room is ready to send and receive.
    """
    await page.locator(f'#joined-rooms [data-testid=room][data-room-hash="{room}"]').click()
    await wait_live(page, room, user)


async def wait_live(page: Page, room: str, user: SeededUser | None = None) -> None:
    """Wait until ``room`` is open and connected on ``page`` (see :func:`open_room`)."""
    await expect(page.locator("#room-view")).to_have_attribute("data-room-hash", room)
    if user is not None:
        await expect(member(page, user.id)).to_have_attribute("data-status", "Online")
    await page.wait_for_function(
        """() => !document.getElementById("history-start").hidden
                 || document.querySelectorAll("#message-list [data-testid=message]").length > 0"""
    )


async def send_message(page: Page, text: str) -> None:
    """Type ``text`` into the room composer, press Send, and wait until the server echoed it.

    Send is disabled until the socket is open, so the click waits for the connection. The
    echo means the server has stored the message; reloading or closing the page before
    that may lose it.
    """
    await page.fill("#message-input", text)
    await page.click("#message-send")
    await expect(page.locator("#message-input")).to_have_value("")
    own = page.locator("#message-list [data-testid=message][data-own=true] [data-testid=message-content]")
    await expect(own.last).to_have_text(text.strip())


def messages(page: Page, scope: str = "#message-list") -> Locator:
    return page.locator(f"{scope} [data-testid=message]")


def contents(page: Page, scope: str = "#message-list") -> Locator:
    return page.locator(f"{scope} [data-testid=message-content]")


def member(page: Page, user_id: int) -> Locator:
    return page.locator(f'#members [data-testid=member][data-user-id="{user_id}"]')


def dm_button(page: Page, user_id: int) -> Locator:
    """The button of a member's entry that opens the direct messages with them."""
    return member(page, user_id).locator("[data-testid=member-dm]")


async def session_of(page: Page) -> dict[str, Any]:
    """The session the page keeps in localStorage, or {} when logged out."""
    raw = await page.evaluate("localStorage.getItem('pykcworkshop.session')")
    return json.loads(raw) if raw else {}


async def message_ids(page: Page, scope: str = "#message-list") -> list[str]:
    return await messages(page, scope).evaluate_all("nodes => nodes.map(n => n.dataset.messageId)")


async def wait_until(
    condition: Callable[[], bool], description: str, timeout: float = EXPECT_TIMEOUT_MS / 1000
) -> None:
    """Poll a condition about data the test collects (not the DOM: use ``expect`` there)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {description}")
        await asyncio.sleep(0.02)


def sync_events(watched: Watched, kind: str, **fields: Any) -> Iterable[dict[str, Any]]:
    """The client-sync events of ``kind`` a page received, filtered by ``fields``."""
    for frame in watched.sync_frames:
        if (
            isinstance(frame, dict)
            and frame.get("type") == kind
            and all(frame.get(key) == value for key, value in fields.items())
        ):
            yield frame
