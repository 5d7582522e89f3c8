"""Safety in the browser: markup is shown as text, and the CSP allows no inline code."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.async_api import Dialog, expect

from tests.clients import Seeder
from tests.e2e.helpers import Browsing, contents, member, send_message, sync_events, wait_until

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=alert(1)>"


async def test_markup_in_messages_and_names_renders_as_text(browse: Browsing, seed: Seeder) -> None:
    # A user and a room whose names are markup too (28 + 4 characters).
    mallory = await seed.user(XSS + secrets.token_hex(2))
    victim = await seed.user()
    room = await seed.room(mallory, victim, name="<b>bold</b>" + secrets.token_hex(4))
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)

    page_m = await browse.user_page(mallory, room, label="mallory")
    page_v = await browse.user_page(victim, room, label="victim")
    for page in (page_m, page_v):
        page.on("dialog", on_dialog)

    await send_message(page_m, XSS)
    await expect(contents(page_v).last).to_have_text(XSS)
    await expect(page_v.locator("#message-list [data-testid=message]").last).to_have_attribute(
        "data-author", mallory.name
    )
    await expect(page_v.locator("#message-list [data-testid=message-author]").last).to_have_text(mallory.name)
    await expect(member(page_v, mallory.id)).to_contain_text(mallory.name)
    await expect(page_v.locator("#room-title")).to_have_text(re.compile(r"^<b>bold</b>"))

    # Direct messages and their notification too. (Wait until the victim's side is connected.)
    await member(page_m, victim.id).locator("button").click()
    watch_m = browse.watch(page_m)
    await wait_until(
        lambda: any(sync_events(watch_m, "dm-open", to=mallory.id, **{"from": victim.id})),
        "the victim's direct-message socket",
    )
    await page_m.fill("#dm-input", XSS)
    await page_m.click("#dm-send")
    await expect(page_v.locator("#toasts [data-testid=toast]")).to_contain_text(mallory.name)
    await member(page_v, mallory.id).locator("button").click()
    await expect(contents(page_v, "#dm-messages")).to_have_text([XSS])
    await expect(page_v.locator("#dm-title")).to_have_text(mallory.name)

    for page in (page_m, page_v):
        # No element was made from the text: the only images are the page's own icons.
        assert (
            await page.locator("#main img[src=x], #toasts img, #message-list img, #members img").count() == 0
        )
        assert await page.locator("b").count() == 0
        assert await page.evaluate("window.__cspViolations") == []
    assert dialogs == []


async def test_csp_header_allows_no_inline_code(browse: Browsing) -> None:
    page = await browse.page("csp")
    response = await page.goto(f"{browse.base_url}/chat/")
    assert response is not None and response.ok
    csp = await response.header_value("content-security-policy")
    assert csp, "the page has no Content-Security-Policy"
    directives = {name: values for name, *values in (part.split() for part in csp.split(";") if part.strip())}
    for name in ("script-src", "default-src"):
        assert directives.get(name) == ["'self'"], (name, directives.get(name))
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "'unsafe-hashes'" not in csp and "'strict-dynamic'" not in csp
    assert not re.search(r"'(nonce|sha256|sha384|sha512)-", csp)
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]

    # The page itself needs no exceptions: no inline scripts, handlers or styles.
    html = await response.text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), "inline style attribute"
    assert "<style" not in html

    # And the browser enforces it: an injected inline script does not run.
    browse.watch(page).allow_errors(r"Content Security Policy", r"CSP violation: script-src-elem")
    await page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__injected = true"; document.head.append(s); }"""
    )
    await page.wait_for_function("window.__cspViolations.length > 0")
    assert await page.evaluate("window.__injected === undefined")
    assert await page.evaluate("window.__cspViolations") == ["script-src-elem blocked inline"]
    # (And the console watch that checks every test saw it.)
    assert any("CSP violation: script-src-elem" in error for error in browse.watch(page).errors)
